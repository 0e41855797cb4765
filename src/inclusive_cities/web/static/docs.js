// Start Swagger UI on the API docs page. Kept out of the HTML because the site's
// Content-Security-Policy allows scripts from this site only, never inline ones.
(function () {
  "use strict";
  var target = document.getElementById("swagger-ui");
  if (!target || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.observatoryDocs = window.SwaggerUIBundle({
    url: target.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    onComplete: function () {
      document.body.setAttribute("data-docs-ready", "true");
    },
  });
})();
