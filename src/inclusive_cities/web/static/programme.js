// Programme pages: one map of points (the target cities, or the centres network read from
// the OGC API – Features collection) over the configured basemap. The points never wait for
// the tiles: when the tile host cannot be reached the map shows them on a plain background.
// The page's list or table names the same places, so the map is never the only way in.
(function () {
  var el = document.getElementById("programme-map-config");
  if (!el || !window.maplibregl) { return; }
  var cfg = JSON.parse(el.textContent);
  var container = document.getElementById(cfg.container);
  if (!container) { return; }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var style = { version: 8, sources: {}, layers: [
    { id: "background", type: "background", paint: { "background-color": "#e8eef3" } }
  ] };
  var credits = [];
  if (cfg.basemap) {
    style.sources.basemap = { type: "raster", tiles: [cfg.basemap.url], tileSize: 256, maxzoom: 19 };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
    credits.push(esc(cfg.basemap.attribution));
  }
  var map = new maplibregl.Map({ container: cfg.container, style: style, center: [-70, -5], zoom: 2,
    attributionControl: false, maxZoom: 16 });
  window.programmeMap = map;  // for browser tests and the console
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.AttributionControl({ customAttribution: credits }));
  map.on("error", function (e) {
    if (e && e.sourceId === "basemap") {
      document.body.setAttribute("data-basemap-failed", "true");
      map.triggerRepaint();
      return;
    }
    if (window.console) { console.error(e && e.error ? e.error : e); }
  });
  var popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, maxWidth: "320px" });

  function bounds(features) {
    var b = null;
    features.forEach(function (f) {
      if (!f.geometry || f.geometry.type !== "Point") { return; }
      var c = f.geometry.coordinates;
      b = b ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])]
            : [c[0], c[1], c[0], c[1]];
    });
    return b;
  }

  function popupHtml(p) {
    var html = "<strong>" + esc(p.name) + "</strong>";
    (cfg.popup || []).forEach(function (field) {
      if (p[field[0]] !== undefined && p[field[0]] !== null && p[field[0]] !== "") {
        html += "<br>" + esc(field[1]) + ": " + esc(p[field[0]]);
      }
    });
    if (p.href) { html += "<br><em>" + esc(cfg.text.open) + "</em>"; }
    return html;
  }

  function draw(data) {
    map.addSource("points", { type: "geojson", data: data });
    map.addLayer({ id: "points", type: "circle", source: "points", paint: {
      "circle-radius": cfg.radius || 7,
      "circle-color": cfg.colour || "#004f8a",
      "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } });
    var labels = [];
    if (cfg.labels) {
      // names drawn as HTML markers: the style has no glyph server to draw text with
      data.features.forEach(function (f) {
        var tag = document.createElement("span");
        tag.className = "pg-map-label";
        tag.textContent = f.properties.name;
        new maplibregl.Marker({ element: tag, anchor: "left", offset: [9, 0] })
          .setLngLat(f.geometry.coordinates).addTo(map);
        labels.push(tag);
      });
    }
    // a name that would cover one already drawn is hidden until zooming in makes room (the
    // point, its popup and the list beside the map still name it): overlapping names were
    // unreadable (trial #4 F6)
    function declutter() {
      var placed = [];
      labels.forEach(function (tag) {
        tag.style.visibility = "visible";
        var r = tag.getBoundingClientRect();
        var clash = placed.some(function (q) {
          return r.left < q.right && r.right > q.left && r.top < q.bottom && r.bottom > q.top;
        });
        if (clash) { tag.style.visibility = "hidden"; } else { placed.push(r); }
      });
      document.body.setAttribute("data-labels-shown", String(placed.length));
    }
    map.on("moveend", declutter);
    var b = bounds(data.features);
    if (b) {
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, maxZoom: 7, duration: 0 });
    }
    declutter();
    map.on("mousemove", "points", function (e) {
      map.getCanvas().style.cursor = "pointer";
      popup.setLngLat(e.features[0].geometry.coordinates).setHTML(popupHtml(e.features[0].properties)).addTo(map);
    });
    map.on("mouseleave", "points", function () { map.getCanvas().style.cursor = ""; popup.remove(); });
    map.on("click", "points", function (e) {
      var href = e.features[0].properties.href;
      if (href) { window.location.href = href; }
    });
    document.body.setAttribute("data-features", String(data.features.length));
    document.body.setAttribute("data-map-ready", "true");
  }

  map.on("load", function () {
    if (cfg.url) {
      fetch(cfg.url, { headers: { Accept: "application/geo+json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status + " " + cfg.url); } return r.json(); })
        .then(draw)
        .catch(function (err) {
          document.body.setAttribute("data-map-error", String(err));
          if (window.console) { console.error(err); }
        });
    } else {
      draw(cfg.data);
    }
  });
})();
