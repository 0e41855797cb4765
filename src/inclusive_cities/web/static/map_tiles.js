// Big layers as vector tiles (web/tiles.py): the explorer asks /tiles/map/<city>/layer.json,
// which answers with the layer's GeoJSON when it is small, or with its legend and a tile URL
// template above a few thousand units. This draws either kind as the "units" source with the
// same two layers, so the rest of map.js (legend filter, hover, details) works on both.
window.ObservatoryTiles = (function () {
  var LAYER = "units";

  function layerUrl(apiUrl) {
    return apiUrl.replace(/^\/api\/cities\//, "/tiles/map/").replace(/\/map\?/, "/layer.json?");
  }

  function absolute(template) {
    return template.indexOf("/") === 0 ? location.origin + template : template;
  }

  function addLayers(map, tiled) {
    var from = tiled ? { "source-layer": LAYER } : {};
    map.addLayer(Object.assign({ id: "units-fill", type: "fill", source: "units", paint: {
      "fill-color": ["get", "colour"], "fill-opacity": 0.85 } }, from));
    // outlines of tens of thousands of blocks are a grey haze at city zoom, and cost as much
    // to draw as the blocks: a tiled layer shows them from street zoom on
    if (tiled) { from.minzoom = 13; }
    map.addLayer(Object.assign({ id: "units-line", type: "line", source: "units", paint: {
      "line-color": ["case", ["boolean", ["feature-state", "selected"], false], "#000000", "#ffffff"],
      "line-width": ["case", ["boolean", ["feature-state", "selected"], false], 3, 0.5] } }, from));
  }

  // Draws geo as the "units" source; returns whether it is tiled.
  function draw(map, geo) {
    var tiled = !!(geo.tiles && geo.tiles.length);
    var source = map.getSource("units");
    if (source && !tiled && source.type === "geojson") { source.setData(geo); return false; }
    if (source && tiled && source.type === "vector" && source.tiles &&
        source.tiles[0] === absolute(geo.tiles[0])) { return true; }
    ["units-line", "units-fill"].forEach(function (id) { if (map.getLayer(id)) { map.removeLayer(id); } });
    if (source) { map.removeSource("units"); }
    if (tiled) {
      var spec = { type: "vector", tiles: geo.tiles.map(absolute), minzoom: geo.minzoom || 0,
        maxzoom: geo.maxzoom || 16 };
      if (geo.bbox) { spec.bounds = geo.bbox; }
      map.addSource("units", spec);
    } else {
      map.addSource("units", { type: "geojson", data: geo });
    }
    addLayers(map, tiled);
    return tiled;
  }

  // Units of the tiles loaded now (each once: a unit cut by a tile edge is in two tiles), at
  // most LIST of them, which is all the unit list shows; geometry is decoded only when read.
  // Below zoom 12 the tiles in view hold tens of thousands of units: reading them all takes
  // the browser a second and an arbitrary 3,000 of them help nobody, so the list waits for
  // a closer view.
  var LIST = 3000, LIST_ZOOM = 12;
  function features(map) {
    if (!map.getSource("units") || map.getZoom() < LIST_ZOOM) { return []; }
    var seen = {};
    var out = [];
    var found = map.querySourceFeatures("units", { sourceLayer: LAYER });
    for (var i = 0; i < found.length && out.length < LIST; i++) {
      var f = found[i];
      if (seen[f.id]) { continue; }
      seen[f.id] = true;
      out.push(lazy(f));
    }
    return out;
  }
  function lazy(f) {
    return { type: "Feature", id: f.id, properties: f.properties,
      get geometry() { return f.geometry; } };
  }

  // The first layer is asked for while MapLibre starts, not after it: the URL is built from
  // the page's form as map.js builds it, and map.js takes the answer when its URL is the same.
  var early = null;
  function prefetch() {
    var cfgNode = document.getElementById("map-config");
    var select = document.getElementById("layer");
    if (!cfgNode || !select || !window.fetch) { return; }
    var cfg = JSON.parse(cfgNode.textContent);
    var wanted = new URLSearchParams(location.search).get("layer");
    var layer = wanted && select.querySelector("option[value='" + wanted.replace(/'/g, "") + "']") ? wanted : select.value;
    if (!layer || layer.indexOf("ogc:") === 0) { return; }
    var q = new URLSearchParams({ layer: layer, period: document.getElementById("period").value,
      classification: document.getElementById("classification").value, zoom: "12", lang: cfg.lang });
    var compare = document.getElementById("compare");
    if (compare && compare.value) { q.set("compare", compare.value); }
    var url = layerUrl("/api/cities/" + encodeURIComponent(cfg.city) + "/map?" + q.toString());
    early = { url: url, response: fetch(url) };
  }
  function get(url) {
    if (early && early.url === url) { var response = early.response; early = null; return response; }
    early = null;
    return fetch(url);
  }
  prefetch();

  return { layerUrl: layerUrl, draw: draw, features: features, sourceLayer: LAYER, get: get };
})();
