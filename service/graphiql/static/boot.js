// Starts GraphiQL on the service's own page. Everything it loads comes from this origin
// (the page's Content-Security-Policy allows nothing else).
//
// The bearer token goes into the Headers tab, as {"Authorization": "Bearer <token>"}. GraphiQL
// keeps editor state in this tab's sessionStorage, never in localStorage, and stores headers
// only when the user switches "Persist headers" on in the settings (then for this tab only):
// GraphiQL 3 writes the headers of every run into its history regardless, so the storage
// below takes them out of history entries unless persisting is on.
(function () {
  "use strict";

  var h = React.createElement;
  var httpUrl = window.location.origin + "/graphql";
  var wsUrl = httpUrl.replace(/^http/, "ws");

  var DEFAULT_QUERY = [
    "# Safe Future GraphQL API",
    "#",
    "# 1. Put your bearer token into the Headers tab below:",
    '#      {"Authorization": "Bearer <token>"}',
    "#    (in development: .venv/bin/safe-future token --org moviera --role caseworker).",
    "#    The documentation explorer (book icon) loads the schema once the token is there.",
    "# 2. Run a query with Ctrl-Enter or the play button.",
    "#",
    "# The token is not stored unless you switch on \"Persist headers\" in the settings,",
    "# and then only for this browser tab.",
    "",
    "{",
    "  me {",
    "    subject",
    "    roles",
    "    organisation { name }",
    "  }",
    "}",
    "",
  ].join("\n");

  var DEFAULT_HEADERS = '{\n  "Authorization": "Bearer "\n}';

  // The Authorization header written in the Headers tab, or null.
  function authorizationOf(headersText) {
    try {
      var parsed = JSON.parse(headersText || "{}");
      if (parsed === null || typeof parsed !== "object") {
        return null;
      }
      for (var name in parsed) {
        if (name.toLowerCase() === "authorization" && typeof parsed[name] === "string") {
          var value = parsed[name].trim();
          return /^bearer\s+\S+$/i.test(value) ? value : null;
        }
      }
    } catch (_error) {
      return null;
    }
    return null;
  }

  // A fetcher per token: HTTP requests carry the Headers tab's headers anyway; the WebSocket
  // for subscriptions sends the token in connection_init, and a new fetcher makes GraphiQL
  // load the schema again.
  function fetcherFor(authorization) {
    var options = { url: httpUrl, subscriptionUrl: wsUrl };
    if (authorization) {
      options.headers = { Authorization: authorization };
      options.wsConnectionParams = { Authorization: authorization };
    }
    return GraphiQL.createFetcher(options);
  }

  var NAMESPACE = "graphiql:";
  var HISTORY_KEYS = ["graphiql:queries", "graphiql:favorites"];

  function withoutHeaders(key, value) {
    var name = key.slice(NAMESPACE.length);
    try {
      var stored = JSON.parse(value);
      (stored[name] || []).forEach(function (entry) {
        entry.headers = null;
      });
      return JSON.stringify(stored);
    } catch (_error) {
      return null; // not what GraphiQL writes: keep nothing rather than a token
    }
  }

  // GraphiQL's storage: this tab's sessionStorage, history entries without their headers.
  var tabStorage = {
    getItem: function (key) {
      return window.sessionStorage.getItem(key);
    },
    setItem: function (key, value) {
      var persist = window.sessionStorage.getItem(NAMESPACE + "shouldPersistHeaders") === "true";
      if (!persist && HISTORY_KEYS.indexOf(key) >= 0) {
        value = withoutHeaders(key, value);
        if (value === null) {
          window.sessionStorage.removeItem(key);
          return;
        }
      }
      window.sessionStorage.setItem(key, value);
    },
    removeItem: function (key) {
      window.sessionStorage.removeItem(key);
    },
    clear: function () {
      Object.keys(window.sessionStorage).forEach(function (key) {
        if (key.indexOf(NAMESPACE) === 0) {
          window.sessionStorage.removeItem(key);
        }
      });
    },
    get length() {
      return Object.keys(window.sessionStorage).filter(function (key) {
        return key.indexOf(NAMESPACE) === 0;
      }).length;
    },
  };

  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function SafeFutureGraphiQL() {
    var initial = authorizationOf(DEFAULT_HEADERS);
    var state = React.useState(initial);
    var authorization = state[0];
    var setAuthorization = state[1];
    var pending = React.useRef(null);
    var fetcher = React.useMemo(
      function () {
        return fetcherFor(authorization);
      },
      [authorization]
    );

    function onEditHeaders(text) {
      // Wait for typing to pause before loading the schema with a new token.
      window.clearTimeout(pending.current);
      pending.current = window.setTimeout(function () {
        setAuthorization(authorizationOf(text));
      }, 400);
    }

    return h(GraphiQL, {
      fetcher: fetcher,
      storage: tabStorage,
      shouldPersistHeaders: false,
      showPersistHeadersSettings: true,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: DEFAULT_HEADERS,
      onEditHeaders: onEditHeaders,
      inputValueDeprecation: true,
      plugins: [explorer],
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(h(SafeFutureGraphiQL));
})();
