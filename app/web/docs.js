// Start Swagger UI on the app's OpenAPI document (an external file: no inline script on the page).
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null, // the public validator is on the internet: never call it
    showExtensions: true,
    showCommonExtensions: true,
  });
})();
