// Runs the graphql-http server audit (GraphQL over HTTP conformance) against a URL and prints
// one JSON line per audit. The API needs a bearer token: it is read from GRAPHQL_TOKEN and
// added to every request the audit makes.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const token = process.env.GRAPHQL_TOKEN;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
for (const result of results) {
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status,
    reason: result.reason || null }));
}
