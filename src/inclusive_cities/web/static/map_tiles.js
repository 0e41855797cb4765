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
    // a tiled layer's fill has no antialiased outline: a second pass over every ring's edges
    // that software WebGL pays for in each frame (blocks at city zoom are a pixel or two; from
    // street zoom on the white outlines cover the edges)
    map.addLayer(Object.assign({ id: "units-fill", type: "fill", source: "units", paint: {
      "fill-color": ["get", "colour"], "fill-opacity": 0.85, "fill-antialias": !tiled } }, from));
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

  // Once layer.json says the layer is tiled, the tiles of the opening view are asked for at
  // once, while MapLibre starts: their URLs carry the publication's version (immutable, kept
  // by the browser), so MapLibre's own requests for them are answered from the HTTP cache.
  // The view is the one map.js fits to the layer's bbox (padding 20), computed as MapLibre
  // does: Web Mercator, 512-px tiles, tile zoom = floor(zoom).
  function prefetchTiles(geo) {
    var box = document.getElementById("map");
    if (!geo.tiles || !geo.tiles.length || !geo.bbox || !box || !box.clientWidth) { return; }
    var w = box.clientWidth, h = box.clientHeight, pad = 20;
    var mx = function (lon) { return (lon + 180) / 360; };
    var my = function (lat) {
      var s = Math.sin(lat * Math.PI / 180);
      return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
    };
    var x0 = mx(geo.bbox[0]), x1 = mx(geo.bbox[2]), y0 = my(geo.bbox[3]), y1 = my(geo.bbox[1]);
    if (!(x1 > x0 && y1 > y0)) { return; }
    var zoom = Math.log2(Math.min((w - 2 * pad) / ((x1 - x0) * 512), (h - 2 * pad) / ((y1 - y0) * 512)));
    var z = Math.max(0, Math.min(geo.maxzoom || 16, Math.floor(zoom)));
    var n = Math.pow(2, z), world = 512 * Math.pow(2, zoom);
    var cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, hw = w / 2 / world, hh = h / 2 / world;
    var tiles = [];
    for (var x = Math.floor((cx - hw) * n); x <= Math.floor((cx + hw) * n); x++) {
      for (var y = Math.floor((cy - hh) * n); y <= Math.floor((cy + hh) * n); y++) {
        if (x >= 0 && y >= 0 && x < n && y < n) { tiles.push([z, x, y]); }
      }
    }
    if (tiles.length > 16) { return; }
    tiles.forEach(function (t) {
      fetch(absolute(geo.tiles[0]).replace("{z}", t[0]).replace("{x}", t[1]).replace("{y}", t[2]))
        .catch(function () { /* MapLibre asks again */ });
    });
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
    // (this callback is registered before map.js's, so it clones the body before map.js reads it)
    early.response.then(function (r) { return r.ok ? r.clone().json() : {}; })
      .then(prefetchTiles).catch(function () { /* the map draws without it */ });
  }
  function get(url) {
    if (early && early.url === url) { var response = early.response; early = null; return response; }
    early = null;
    return fetch(url);
  }
  prefetch();

  return { layerUrl: layerUrl, draw: draw, features: features, sourceLayer: LAYER, get: get };
})();
