// Plan map: the neighbourhoods coloured by their marker level, and the plan's projects over
// them (points and polygons, coloured by status). Everything drawn comes from the page's JSON
// (#plan-config); nothing is computed here.
(function () {
  var el = document.getElementById("plan-config");
  if (!el || !window.maplibregl) { return; }
  var cfg = JSON.parse(el.textContent);
  var box = document.getElementById("plan-map");
  if (!box || !cfg.units) { return; }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var style = { version: 8, sources: {}, layers: [
    { id: "background", type: "background", paint: { "background-color": "#eef1f4" } }
  ] };
  var credits = [esc(cfg.cityName)];
  if (cfg.basemap) {
    style.sources.basemap = { type: "raster", tiles: [cfg.basemap.url], tileSize: 256, maxzoom: 19 };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
    credits.unshift(esc(cfg.basemap.attribution));
  }
  var map = new maplibregl.Map({ container: box, style: style, center: [0, 0], zoom: 1,
    attributionControl: false, maxZoom: 18 });
  window.planMap = map;  // for browser tests and the console
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.AttributionControl({ customAttribution: credits }));
  map.on("error", function (e) {
    if (e && e.sourceId === "basemap") { document.body.setAttribute("data-basemap-failed", "true"); }
  });
  var colour = ["match", ["get", "status"]];
  Object.keys(cfg.colours).forEach(function (k) { colour.push(k, cfg.colours[k]); });
  colour.push("#1d2733");
  var popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
  map.on("load", function () {
    map.addSource("units", { type: "geojson", data: cfg.units });
    map.addLayer({ id: "units-fill", type: "fill", source: "units",
      paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.45 } });
    map.addLayer({ id: "units-line", type: "line", source: "units",
      paint: { "line-color": "#ffffff", "line-width": 0.6 } });
    map.addSource("projects", { type: "geojson", data: cfg.projects });
    map.addLayer({ id: "project-areas", type: "fill", source: "projects",
      filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": colour, "fill-opacity": 0.55 } });
    map.addLayer({ id: "project-outlines", type: "line", source: "projects",
      filter: ["==", ["geometry-type"], "Polygon"], paint: { "line-color": "#1d2733", "line-width": 1.5 } });
    map.addLayer({ id: "project-points", type: "circle", source: "projects",
      filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 7, "circle-color": colour,
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } });
    var b = cfg.fit || cfg.projects.bbox || cfg.units.bbox;
    if (b) {
      if (!cfg.fit && cfg.projects.bbox && cfg.fitUnits && cfg.units.bbox) {
        var u = cfg.units.bbox;
        b = [Math.min(b[0], u[0]), Math.min(b[1], u[1]), Math.max(b[2], u[2]), Math.max(b[3], u[3])];
      }
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0, maxZoom: 15 });
    }
    ["project-points", "project-areas"].forEach(function (layer) {
      map.on("mousemove", layer, function (e) {
        var p = e.features[0].properties;
        map.getCanvas().style.cursor = "pointer";
        popup.setLngLat(e.lngLat).setHTML("<strong>" + esc(p.name) + "</strong><br>" + esc(p.status_label) +
          (p.cost_text ? " · " + esc(p.cost_text) : "")).addTo(map);
      });
      map.on("mouseleave", layer, function () { map.getCanvas().style.cursor = ""; popup.remove(); });
      map.on("click", layer, function (e) {
        var p = e.features[0].properties;
        if (p.url) { window.location.href = p.url; }
      });
    });
    map.on("mousemove", "units-fill", function (e) {
      if (map.queryRenderedFeatures(e.point, { layers: ["project-points", "project-areas"] }).length) { return; }
      var u = e.features[0].properties;
      popup.setLngLat(e.lngLat).setHTML("<strong>" + esc(u.name) + "</strong><br>" + esc(cfg.text.marker) +
        ": " + esc(u.score == null ? "—" : Number(u.score).toLocaleString(cfg.lang === "es" ? "es-CO" : "en-GB",
          { maximumFractionDigits: 1 })) + " · " + esc(u.level)).addTo(map);
    });
    map.on("mouseleave", "units-fill", function () { popup.remove(); });
    // ready once the projects are laid out (tiles of the basemap may still be loading, or fail)
    function ready() {
      if (map.getSource("projects") && map.isSourceLoaded("projects")) {
        document.body.setAttribute("data-map-ready", "true");
        map.off("sourcedata", ready);
      }
    }
    map.on("sourcedata", ready);
    ready();
  });
})();
