// Render every Vega-Lite spec embedded in the page (specs are built server-side with Altair).
(function () {
  document.querySelectorAll("[data-spec-id]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-spec-id"));
    if (!source || !window.vegaEmbed) { return; }
    var spec = JSON.parse(source.textContent);
    window.vegaEmbed(el, spec, { actions: false, renderer: "svg" }).then(function () {
      el.setAttribute("data-rendered", "true");
    }).catch(function (err) { el.textContent = String(err); });
  });
})();
