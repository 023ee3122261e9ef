"""GraphiQL in a real browser: headless Chromium, no internet, against a server on loopback.

The page must render its editor, load the schema into the documentation explorer (introspection
in development), run a query typed into the editor with a token typed into the headers editor,
and a subscription over the service's WebSocket, without loading anything from another host,
without a Content-Security-Policy violation, and without storing the token. The screenshot is
taken here: into ``.data/graphiql.png`` on every run, and into the README's
``docs/graphiql.png`` with ``SAFE_FUTURE_UPDATE_SCREENSHOT=1`` (so that a test run leaves the
checkout as it found it).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

import httpx

from tests.conftest import ROOT
from tests.e2e.browser_support import Page, chromium_page
from tests.e2e.conftest import LiveServer

SCREENSHOT = (
    ROOT / "docs" / "graphiql.png"
    if os.environ.get("SAFE_FUTURE_UPDATE_SCREENSHOT") == "1"
    else ROOT / ".data" / "graphiql.png"
)

# Before any script of the page runs: record Content-Security-Policy violations.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

QUERY = """{
  me {
    subject
    roles
    organisation { slug name }
  }
}"""


def _editor(selector: str) -> str:
    """JavaScript for the CodeMirror instance inside ``selector``."""
    return f"document.querySelector({json.dumps(selector + ' .CodeMirror')}).CodeMirror"


async def _type_into(page: Page, selector: str, text: str) -> None:
    """Focus an editor, select its text and type over it, as a user would."""
    editor = _editor(selector)
    await page.evaluate(f"{editor}.focus(), {editor}.execCommand('selectAll')")
    await page.send("Input.insertText", text=text)


async def _click(page: Page, selector: str) -> None:
    await page.wait_for(f"!!document.querySelector({json.dumps(selector)})", selector)
    await page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


async def _run(page: Page, what: str) -> str:
    """Clear the response pane, press the execute button and wait for the answer's text."""
    await page.evaluate(f"{_editor('.graphiql-response')}.setValue('')")
    await _click(page, ".graphiql-execute-button")
    text: str = await page.wait_for(
        f"(() => {{ const v = {_editor('.graphiql-response')}.getValue();"
        " return v.includes('\"data\"') || v.includes('\"errors\"') ? v : null; })()",
        what,
    )
    return text


async def _click_text(page: Page, selector: str, text: str) -> None:
    """Click the first element matching ``selector`` whose text is ``text``."""
    find = (
        f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
        f".find(e => e.textContent.trim() === {json.dumps(text)})"
    )
    await page.wait_for(f"!!{find}", f"{selector} {text!r}")
    await page.evaluate(f"{find}.click()")


OPEN_CASE = """
mutation Open($input: OpenReturnCaseInput!) { openReturnCase(input: $input) { case { id } } }
"""


async def _open_case(server: LiveServer, token: str) -> str:
    """A new case of the token's shelter, opened over HTTP: its event is what to subscribe to."""
    opened = {
        "intakeDate": "2026-01-05", "pseudonym": "GraphiQL subscription", "gender": "FEMALE",
        "birthYear": 1999, "nationality": "NG", "countryOfOrigin": "NG", "languages": ["en"],
        "exploitationForms": ["SEXUAL_EXPLOITATION"],
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=server.http_url, trust_env=False) as client:
        response = await client.post(
            "/graphql",
            json={"query": OPEN_CASE, "variables": {"input": opened}},
            headers={"Authorization": f"Bearer {token}"},
        )
    case_id: str = response.json()["data"]["openReturnCase"]["case"]["id"]
    return case_id


async def test_graphiql_runs_offline_with_a_token_and_shows_the_schema(
    live_server: LiveServer, make_token: Any
) -> None:
    token = make_token("moviera")
    async with chromium_page() as page:
        await page.send("Network.enable")
        await page.send("Page.enable")
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=RECORD_VIOLATIONS)
        await page.send("Page.navigate", url=f"{live_server.http_url}/graphql")

        # The editor renders.
        await page.wait_for(
            "!!document.querySelector('.graphiql-query-editor .CodeMirror')", "the query editor"
        )

        # The token, typed once into the headers editor.
        await _type_into(
            page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)",
            json.dumps({"Authorization": f"Bearer {token}"}, indent=2),
        )  # fmt: skip

        # The documentation explorer loads the schema (introspection with the token) and lists
        # root fields. GraphiQL tried to load it once before the token was there: waiting for the
        # schema here means that failed attempt has answered (or been dropped) before the query
        # runs, so its error cannot land in the response pane after the pane is cleared.
        await _click(page, "button[aria-label='Show Documentation Explorer']")
        await _click_text(page, ".graphiql-doc-explorer a", "Query")
        root_fields = await page.wait_for(
            "(() => { const d = document.querySelector('.graphiql-doc-explorer');"
            " const t = d ? d.textContent : ''; return t.includes('returnCases') ? t : null; })()",
            "the root fields in the documentation explorer",
        )
        for field in ("returnCases", "returnCase", "me"):
            assert field in root_fields

        # A query typed into the editor returns data. GraphiQL writes the error of its token-less
        # introspection into the response pane again whenever the query's validation changes,
        # until an introspection succeeds; the wait for the schema above makes that unlikely,
        # and a pane that still shows it is cleared and the query run again (a token that was
        # not sent fails every time).
        await _type_into(page, ".graphiql-query-editor", QUERY)
        response: dict[str, Any] = {}
        for _ in range(3):
            response = json.loads(await _run(page, "the query's response"))
            if response.get("errors") is None:
                break
            await asyncio.sleep(0.5)
        assert response.get("errors") is None, response
        assert response["data"]["me"]["subject"] == "user-of-moviera"
        assert response["data"]["me"]["organisation"]["slug"] == "moviera"

        # The same picture on every run: the token's constant start in view, no caret.
        headers_editor = _editor(".graphiql-editor-tool .graphiql-editor:not(.hidden)")
        await page.evaluate(f"{headers_editor}.scrollTo(0, 0), document.activeElement.blur()")
        await asyncio.sleep(1)  # let transitions (focus rings, tooltips) finish
        shot = await page.send("Page.captureScreenshot", format="png")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))

        # A subscription runs over this origin's WebSocket, the token in connection_init.
        case_id = await _open_case(live_server, token)
        await _type_into(
            page, ".graphiql-query-editor",
            f'subscription {{ caseEvents(caseId: "{case_id}") {{ caseId eventType }} }}',
        )  # fmt: skip
        await asyncio.sleep(1)  # GraphiQL parses the edited document after a pause in typing
        event_text = await _run(page, "the subscription's first event")
        assert (json.loads(event_text).get("data") or {}).get("caseEvents") == {
            "caseId": case_id, "eventType": "ReturnCaseOpened",
        }, event_text  # fmt: skip
        await _click(page, ".graphiql-execute-button")  # stops the subscription

        # Nothing came from another host, and the page's policy was never violated.
        requested = [
            e["params"]["request"]["url"]
            for e in page.events
            if e["method"] == "Network.requestWillBeSent"
        ]
        assert requested, "the browser recorded no requests"
        foreign = [
            url for url in requested
            if not url.startswith((live_server.http_url + "/", "data:"))
        ]  # fmt: skip
        sockets = [e["params"]["url"] for e in page.events
                   if e["method"] == "Network.webSocketCreated"]  # fmt: skip
        assert sockets == [live_server.ws_url]
        assert foreign == []
        assert await page.evaluate("window.__cspViolations") == []

        # The token lives in the headers editor only: nothing stored it.
        stored = await page.evaluate(
            "JSON.stringify(Object.assign({}, window.localStorage))"
            " + JSON.stringify(Object.assign({}, window.sessionStorage))"
        )
        assert token not in stored
