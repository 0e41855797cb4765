// Map explorer: draws the city's own unit boundaries over the configured raster basemap
// (streets and place names; none when switched off), coloured by the chosen layer; hover shows
// a tooltip, click or the unit list shows details. The units never wait for the tiles: when
// the tile host cannot be reached the map shows the units on a plain background.
(function () {
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var layerSelect = $("layer");
  if (params.get("layer")) { layerSelect.value = params.get("layer"); }
  var state = { data: null, hidden: {}, selected: null, bucket: null, fitted: false };

  var style = { version: 8, sources: {}, layers: [
    { id: "background", type: "background", paint: { "background-color": "#eef1f4" } }
  ] };
  var credits = [esc(cfg.cityName)];
  if (cfg.basemap) {
    style.sources.basemap = { type: "raster", tiles: [cfg.basemap.url], tileSize: 256, maxzoom: 19 };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
    var credit = esc(cfg.basemap.attribution);
    if (cfg.basemap.attribution_url) {
      credit = '<a href="' + esc(cfg.basemap.attribution_url) + '" target="_blank" rel="noopener">' + credit + "</a>";
    }
    credits.unshift(credit);
  }
  var map = new maplibregl.Map({ container: "map", style: style, center: [0, 0], zoom: 1,
    attributionControl: false, maxZoom: 19 });
  window.observatoryMap = map;  // for browser tests and the console
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  // not compact on wide screens: the tile provider's credit must be readable without a click
  map.addControl(new maplibregl.AttributionControl({ customAttribution: credits }));
  // Tiles that cannot be fetched (offline, provider down) leave the plain background: mark
  // the page once (data-basemap-failed) instead of logging an error for every tile, and
  // repaint: MapLibre fires "load" only from a frame drawn after the last tile settled, and a
  // failed tile asks for no frame, so without this the units would wait for "load" forever.
  function tolerateTiles(m) {
    m.on("error", function (e) {
      if (e && e.sourceId === "basemap") {
        document.body.setAttribute("data-basemap-failed", "true");
        m.triggerRepaint();
        return;
      }
      if (window.console) { console.error(e && e.error ? e.error : e); }
    });
  }
  tolerateTiles(map);
  var popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(v) {
    if (v === null || v === undefined) { return cfg.text.noData; }
    // counts moved to a grid are shown in whole persons, households…; rates with one decimal
    var digits = state.data && state.data.digits != null ? state.data.digits : 1;
    return Number(v).toLocaleString(cfg.lang === "es" ? "es-CO" : "en-GB", { maximumFractionDigits: digits });
  }
  function bucket() { return Math.max(8, Math.min(16, Math.floor(map.getZoom() / 2) * 2)); }

  function url(layerKey) {
    var q = new URLSearchParams({ layer: layerKey || layerSelect.value, period: $("period").value,
      classification: $("classification").value, zoom: String(state.fitted ? bucket() : 12), lang: cfg.lang });
    if ($("compare").value) { q.set("compare", $("compare").value); }
    return "/api/cities/" + encodeURIComponent(cfg.city) + "/map?" + q.toString();
  }

  function applyFilter() {
    if (!map.getLayer("units-fill")) { return; }
    var hidden = Object.keys(state.hidden).filter(function (k) { return state.hidden[k]; });
    var parts = ["all"];
    if (hidden.length) { parts.push(["!", ["in", ["get", "cls"], ["literal", hidden]]]); }
    var loc = $("locality").value;
    if (loc) { parts.push(["==", ["get", "loc"], loc]); }
    var filter = parts.length > 1 ? parts : null;
    // MapLibre reloads every tile of the source on a setFilter whose value is not equal to the
    // layer's filter (a new layer's "no filter", undefined, is not equal to null): a filter
    // that did not change reloads nothing
    ["units-fill", "units-line"].forEach(function (id) {
      if (JSON.stringify(map.getFilter(id) || null) !== JSON.stringify(filter)) { map.setFilter(id, filter); }
    });
    fillUnitList();
  }

  function drawLegend(legend) {
    var ul = $("legend");
    ul.innerHTML = "";
    legend.forEach(function (item) {
      var li = document.createElement("li");
      var id = "cls-" + item.code;
      li.innerHTML = '<input type="checkbox" id="' + esc(id) + '" ' + (state.hidden[item.code] ? "" : "checked") + '>' +
        '<label for="' + esc(id) + '"><span class="swatch" style="background:' + esc(item.colour) + '"></span>' +
        esc(item.label) + '</label><span class="count">' + esc(item.count) + "</span>";
      li.querySelector("input").addEventListener("change", function (e) {
        state.hidden[item.code] = !e.target.checked; applyFilter();
      });
      ul.appendChild(li);
    });
  }

  function visibleFeatures() {
    if (!state.data) { return []; }
    var loc = $("locality").value;
    return (state.tiled ? ObservatoryTiles.features(map) : state.data.features).filter(function (f) {
      return !state.hidden[f.properties.cls] && (!loc || f.properties.loc === loc);
    });
  }

  function fillUnitList() {
    var sel = $("unit-list");
    var feats = visibleFeatures().slice().sort(function (a, b) {
      return a.properties.name.localeCompare(b.properties.name);
    }).slice(0, 3000);
    sel.innerHTML = "";
    feats.forEach(function (f) {
      var o = document.createElement("option");
      o.value = String(f.id);
      o.textContent = (state.data.classesOnly || f.properties.name === f.properties.code ? f.properties.code : f.properties.name + " (" + f.properties.code + ")") +
        " — " + (state.data.classesOnly ? f.properties.label : fmt(f.properties.value));
      sel.appendChild(o);
    });
  }

  function showDetails(feature) {
    if (state.selected !== null) { map.setFeatureState({ source: "units", sourceLayer: state.tiled ? "units" : undefined, id: state.selected }, { selected: false }); }
    state.selected = feature.id;
    map.setFeatureState({ source: "units", sourceLayer: state.tiled ? "units" : undefined, id: feature.id }, { selected: true });
    var p = feature.properties;
    var href = cfg.unitUrl + encodeURIComponent(p.code) + "?period=" + encodeURIComponent($("period").value);
    var heading = state.data.kind === "interpolation" ? esc(analysisText.cell) + ' <span class="code">' + esc(p.code) + "</span>" :
      p.name === p.code ? esc(p.name) : esc(p.name) + ' <span class="code">' + esc(p.code) + "</span>";
    var valueRow = "<dt>" + esc(state.data.valueName || state.data.title) + "</dt><dd>" + esc(fmt(p.value)) + " " + esc(state.data.unit || "") + "</dd>";
    var classRow = "<dt>" + esc(cfg.text["class"]) + "</dt><dd><span class=\"swatch\" style=\"background:" + esc(p.colour) + "\"></span>" + esc(p.label) + "</dd>";
    // a cluster's class is what a reader needs; its statistic comes second
    $("details").innerHTML = "<h3>" + heading + "</h3>" +
      // a published cluster layer serves no statistic (it would give the values back): class only
      "<dl>" + (state.data.classesOnly ? classRow + (p.value == null ? "" : valueRow) : valueRow + classRow) +
      (p.loc_name ? "<dt>" + esc(cfg.text.locality) + "</dt><dd>" + esc(p.loc_name) + "</dd>" : "") + "</dl>" +
      (state.data.kind === "interpolation" ? '<p class="hint">' + esc(state.data.source) + "</p>" :
        '<p><a class="button" id="profile-link" href="' + esc(href) + '">' + esc(cfg.text.profile) + "</a></p>");
  }

  // published clusters come from the OGC API: two layers per collection (the Local Moran
  // quadrant and the Gi* hot/cold class), listed after the store's layers. Red always marks
  // exclusion: for a source where more is better (the marker's scores) that is low-low and
  // cold; where more is worse (overcrowding), and for older layers that did not record it,
  // high-high and hot. A neutral source (the share of Venezuelans) has no better end: its
  // clusters are of high and low concentration, in blues and greys, never red.
  var ANALYSIS = "ogc:";
  var analysisText = JSON.parse($("analysis-text").textContent);
  var EXCLUSION = "#b2182b", INCLUSION = "#2166ac", WORSE = "#f4a582", BETTER = "#92c5de";
  var NEUTRAL = "#d9d9d9";
  var CONCENTRATED = "#08519c", SPARSE = "#9ecae1", ABOVE = "#4292c6", BELOW = "#737373";
  function isNeutral(analysis) {
    return !!analysis && (analysis.direction === "neutral" || analysis.direction === "unknown");
  }
  function neutralClusterStyle() {
    var colours = { high_high: CONCENTRATED, hot: CONCENTRATED, low_low: SPARSE, cold: SPARSE,
      high_low: ABOVE, low_high: BELOW, not_significant: NEUTRAL };
    var labels = Object.assign({ not_significant: analysisText.not_significant }, analysisText.neutral);
    var order = ["high_high", "hot", "low_low", "cold", "high_low", "low_high", "not_significant"];
    return { colours: colours, labels: labels, order: order };
  }
  function clusterStyle(analysis) {
    if (isNeutral(analysis)) { return neutralClusterStyle(); }
    var higherIsBetter = analysis ? analysis.higher_is_better : null;
    var good = higherIsBetter === true;
    var labels = analysisText[good ? "better" : (higherIsBetter === false ? "worse" : "unknown")];
    var colours = good ?
      { low_low: EXCLUSION, cold: EXCLUSION, high_high: INCLUSION, hot: INCLUSION,
        low_high: WORSE, high_low: BETTER } :
      { high_high: EXCLUSION, hot: EXCLUSION, low_low: INCLUSION, cold: INCLUSION,
        high_low: WORSE, low_high: BETTER };
    colours.not_significant = NEUTRAL;
    labels = Object.assign({ not_significant: analysisText.not_significant }, labels);
    var order = good ? ["low_low", "cold", "high_high", "hot", "low_high", "high_low"] :
      ["high_high", "hot", "low_low", "cold", "high_low", "low_high"];
    return { colours: colours, labels: labels, order: order.concat(["not_significant"]) };
  }
  var analysisCache = {};
  function slugify(text) {
    return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "x";
  }
  function shortTitle(c) {
    return c.analysis && c.analysis.name ? c.analysis.name : String(c.title).split(" \u2014 ")[0];
  }
  // published interpolations: one option per indicator moved to the grid, classed by the API
  // like any indicator (quantiles, natural breaks); only the grid's aggregates are read
  var interpolated = {};
  function isInterpolation(key) { return !!interpolated[key]; }
  function addInterpolationOptions(collections) {
    var prefix = slugify(cfg.city) + "-interpolation-";
    var suffix = "-" + slugify(cfg.period);
    var found = collections.filter(function (c) {
      return c.id.indexOf(prefix) === 0 && c.id.slice(-suffix.length) === suffix &&
        c.analysis && c.analysis.indicators;
    });
    if (!found.length) { return; }
    var group = document.createElement("optgroup");
    group.label = analysisText.interpolation_group;
    found.forEach(function (c) {
      c.analysis.indicators.forEach(function (indicator) {
        var option = document.createElement("option");
        option.value = ANALYSIS + c.id + ":" + indicator.column;
        option.textContent = indicator.label;
        interpolated[option.value] = true;
        group.appendChild(option);
      });
    });
    layerSelect.appendChild(group);
  }
  function addAnalysisOptions() {
    var prefix = slugify(cfg.city) + "-clusters-";
    var suffix = "-" + slugify(cfg.period);
    return fetch("/ogc/collections?lang=" + encodeURIComponent(cfg.lang)).then(function (r) {
      return r.ok ? r.json() : { collections: [] };
    }).then(function (body) {
      var found = body.collections.filter(function (c) {
        return c.id.indexOf(prefix) === 0 && c.id.slice(-suffix.length) === suffix;
      });
      addInterpolationOptions(body.collections);
      if (!found.length) {
        if (params.get("layer")) { layerSelect.value = params.get("layer"); }
        return;
      }
      // clusters of a neutral figure are not of exclusion: they get a group of their own
      [[false, analysisText.group], [true, analysisText.neutral_group]].forEach(function (pair) {
        var members = found.filter(function (c) { return isNeutral(c.analysis) === pair[0]; });
        if (!members.length) { return; }
        var group = document.createElement("optgroup");
        group.label = pair[1];
        members.forEach(function (c) {
          ["moran_class", "gi_class"].forEach(function (column) {
            var option = document.createElement("option");
            option.value = ANALYSIS + c.id + ":" + column;
            option.textContent = shortTitle(c) + " \u2014 " + analysisText[column];
            group.appendChild(option);
          });
        });
        layerSelect.appendChild(group);
      });
      if (params.get("layer")) { layerSelect.value = params.get("layer"); }
    }).catch(function () { return null; });
  }
  function analysisGeo(key) {
    if (analysisCache[key]) { return Promise.resolve(analysisCache[key]); }
    var rest = key.slice(ANALYSIS.length);
    var cut = rest.lastIndexOf(":");
    var id = rest.slice(0, cut);
    var column = rest.slice(cut + 1);
    var statistic = column === "moran_class" ? "moran_i" : "gi_z";
    var base = "/ogc/collections/" + encodeURIComponent(id);
    var get = function (u) {
      return fetch(u).then(function (r) {
        if (!r.ok) { return r.json().then(function (e) { throw new Error(e.description); }); }
        return r.json();
      });
    };
    return Promise.all([get(base + "?lang=" + encodeURIComponent(cfg.lang)),
      get(base + "/items?limit=10000")]).then(function (parts) {
      var doc = parts[0];
      var look = clusterStyle(doc.analysis || null);
      var counts = {};
      var features = parts[1].features.map(function (f, i) {
        var cls = f.properties[column] || "not_significant";
        counts[cls] = (counts[cls] || 0) + 1;
        return { type: "Feature", id: i + 1, geometry: f.geometry, properties: {
          code: f.properties.code, name: f.properties.code, value: f.properties[statistic], cls: cls,
          colour: look.colours[cls] || NEUTRAL, label: look.labels[cls] || cls, loc: "", loc_name: "" } };
      });
      var geo = { type: "FeatureCollection", features: features,
        legend: look.order.filter(function (c) { return counts[c]; }).map(function (c) {
          return { code: c, colour: look.colours[c], label: look.labels[c], count: counts[c] };
        }),
        bbox: doc.extent ? doc.extent.spatial.bbox[0] : null,
        title: shortTitle(doc) + " \u2014 " + analysisText[column],
        valueName: analysisText[column], classesOnly: true,
        source: doc.description, period: cfg.period, unit: "" };
      analysisCache[key] = geo;
      return geo;
    });
  }

  function load() {
    $("status").textContent = cfg.text.loading;
    state.bucket = bucket();
    var key = layerSelect.value;
    // long layer names do not fit the list box: the full name shows on hover
    var chosen = layerSelect.options[layerSelect.selectedIndex];
    layerSelect.title = chosen ? chosen.textContent.trim() : "";
    // classes, change maps and localities belong to the store's layers, not to clusters;
    // a grid has classes (quantiles, natural breaks) but no earlier period nor localities
    var analysis = key.indexOf(ANALYSIS) === 0;
    var grid = isInterpolation(key);
    ["compare", "locality"].forEach(function (id) { $(id).disabled = analysis; });
    $("classification").disabled = analysis && !grid;
    var levels = $("classification").querySelector("option[value='levels']");
    levels.disabled = grid;
    if (grid && $("classification").value === "levels") { $("classification").value = "quantiles"; }
    if (analysis) { $("locality").value = ""; $("compare").value = ""; }
    var layerUrl = window.ObservatoryTiles ? ObservatoryTiles.layerUrl(url()) : url();  // big: tiles
    var request = analysis && !grid ? analysisGeo(key) : (window.ObservatoryTiles ? ObservatoryTiles.get(layerUrl) : fetch(layerUrl)).then(function (r) {
      if (!r.ok) { return r.json().then(function (e) { throw new Error(e.description); }); }
      return r.json();
    });
    return request.then(function (geo) {
      state.data = geo;
      // a neutral figure (share of Venezuelans) has no performance levels: the server drew
      // quantiles in one hue, and the list of classes says so
      if (geo.direction === "neutral" || geo.direction === "unknown") {  // never judged
        levels.disabled = true;
        if ($("classification").value === "levels") { $("classification").value = geo.classification; }
      }
      if (window.ObservatoryTiles) {
        state.tiled = ObservatoryTiles.draw(map, geo);
      } else if (map.getSource("units")) {
        map.getSource("units").setData(geo);
      } else {
        map.addSource("units", { type: "geojson", data: geo });
        map.addLayer({ id: "units-fill", type: "fill", source: "units", paint: {
          "fill-color": ["get", "colour"], "fill-opacity": 0.85 } });
        map.addLayer({ id: "units-line", type: "line", source: "units", paint: {
          "line-color": ["case", ["boolean", ["feature-state", "selected"], false], "#000000", "#ffffff"],
          "line-width": ["case", ["boolean", ["feature-state", "selected"], false], 3, 0.5] } });
      }
      if (!state.fitted && geo.bbox) {
        map.fitBounds([[geo.bbox[0], geo.bbox[1]], [geo.bbox[2], geo.bbox[3]]], { padding: 20, duration: 0 });
        state.fitted = true;
      }
      drawLegend(geo.legend);
      var title = geo.title + (geo.compare ? " — " + cfg.text.change.replace("{period}", geo.compare) : "");
      $("legend-title").textContent = title;
      $("layer-source").textContent = geo.source ? (geo.source + " · " + geo.period) : geo.period;
      $("status").textContent = Number(geo.featureCount || geo.features.length).toLocaleString(cfg.lang === "es" ? "es-CO" : "en-GB") + " " + cfg.text.units;
      state.selected = null;
      state.listView = null;
      applyFilter();
      document.body.setAttribute("data-map-ready", layerSelect.value);
    }).catch(function (err) { $("status").textContent = err.message; });
  }

  // a second map, side by side, whose camera follows the first one (and the other way round)
  var second = null;
  var syncing = false;
  function follow(from, to) {
    from.on("move", function () {
      if (syncing || !to) { return; }
      syncing = true;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
      syncing = false;
    });
  }
  function loadSecond() {
    var key = $("layer2").value;
    var split = !!key;
    $("map2").hidden = !split;
    $("legend2-box").hidden = !split;
    document.querySelector(".maps").classList.toggle("split", split);
    map.resize();
    if (!split) { return; }
    if (!second) {
      second = new maplibregl.Map({ container: "map2", style: style, center: map.getCenter(),
        zoom: map.getZoom(), attributionControl: false, interactive: true });
      window.observatoryMap2 = second;
      tolerateTiles(second);
      follow(map, second);
      follow(second, map);
    }
    second.resize();
    var draw = function () {
      fetch(window.ObservatoryTiles ? ObservatoryTiles.layerUrl(url(key)) : url(key)).then(function (r) { return r.json(); }).then(function (geo) {
        if (window.ObservatoryTiles) { ObservatoryTiles.draw(second, geo); } else if (second.getSource("units")) { second.getSource("units").setData(geo); } else {
          second.addSource("units", { type: "geojson", data: geo });
          second.addLayer({ id: "units-fill", type: "fill", source: "units", paint: {
            "fill-color": ["get", "colour"], "fill-opacity": 0.85 } });
          second.addLayer({ id: "units-line", type: "line", source: "units", paint: {
            "line-color": "#ffffff", "line-width": 0.5 } });
        }
        $("legend2-title").textContent = geo.title;
        $("legend2").innerHTML = geo.legend.map(function (item) {
          return '<li><span class="swatch" style="background:' + esc(item.colour) + '"></span>' +
            esc(item.label) + '<span class="count">' + esc(item.count) + "</span></li>";
        }).join("");
        second.jumpTo({ center: map.getCenter(), zoom: map.getZoom() });
        document.body.setAttribute("data-map2-ready", key);
      });
    };
    if (second.loaded()) { draw(); } else { second.once("load", draw); }
  }

  // The layer is added as soon as the style is ready, not at MapLibre's "load", which waits
  // for the first frame: with software WebGL that frame compiles shaders for half a second,
  // and the tiles could be fetched and parsed meanwhile. Only a published cluster or grid
  // layer asked for by the URL waits for the OGC collection list that adds its option.
  function start() {
    var listed = addAnalysisOptions();
    if ((params.get("layer") || "").indexOf(ANALYSIS) === 0) { listed.then(load); } else { load(); }
    map.on("mousemove", "units-fill", function (e) {
      map.getCanvas().style.cursor = "pointer";
      var p = e.features[0].properties;
      var what = state.data && state.data.classesOnly ? esc(p.label) : esc(fmt(p.value)) + " · " + esc(p.label);
      var head = esc(p.name);
      if (p.code === undefined) { head = esc(p.loc_name || ""); what = esc(p.label); }  // overview tiles: one feature per class
      if (state.data && state.data.kind === "interpolation") {
        head = esc(state.data.valueName);
        what = esc(fmt(p.value)) + " " + esc(state.data.unit || "") + "<br>" + esc(analysisText.cell) + " " + esc(p.code);
      }
      popup.setLngLat(e.lngLat).setHTML("<strong>" + head + "</strong><br>" + what).addTo(map);
    });
    // a tiled layer's unit list holds the units of the tiles in view, refreshed once they load
    map.on("idle", function () {
      var view = map.getCenter().toString() + map.getZoom();
      if (state.tiled && state.listView !== view) { state.listView = view; fillUnitList(); }
    });
    map.on("mouseleave", "units-fill", function () { map.getCanvas().style.cursor = ""; popup.remove(); });
    map.on("click", "units-fill", function (e) {
      var id = e.features[0].id;
      // overview tiles hold classes, not units: a click zooms to where units can be picked
      if (state.tiled && e.features[0].properties.code === undefined) { map.easeTo({ center: e.lngLat, zoom: state.data.detailZoom || 12 }); return; }
      var f = state.tiled ? e.features[0] : state.data.features.find(function (x) { return x.id === id; });
      if (f) { showDetails(f); $("unit-list").value = String(id); }
    });
    // finer outlines as one zooms in; layers from the OGC API have one geometry at every zoom
    map.on("zoomend", function () {
      if (state.fitted && !state.tiled && bucket() !== state.bucket && layerSelect.value.indexOf(ANALYSIS) !== 0) { load(); }
    });
  }
  if (map.isStyleLoaded()) { start(); } else { map.once("style.load", start); }
  ["layer", "compare", "classification"].forEach(function (id) {
    $(id).addEventListener("change", function () { state.hidden = {}; load(); if (second && $("layer2").value) { loadSecond(); } });
  });
  $("layer2").addEventListener("change", loadSecond);
  $("period").addEventListener("change", function () {
    var q = new URLSearchParams({ period: $("period").value, layer: layerSelect.value });
    location.search = q.toString();
  });
  $("locality").addEventListener("change", applyFilter);
  $("unit-list").addEventListener("change", function (e) {
    var id = Number(e.target.value);
    var f = (state.tiled ? ObservatoryTiles.features(map) : state.data.features).find(function (x) { return x.id === id; });
    if (!f) { return; }
    showDetails(f);
    var b = new maplibregl.LngLatBounds();
    var walk = function (c) { if (typeof c[0] === "number") { b.extend(c); } else { c.forEach(walk); } };
    walk(f.geometry.coordinates);
    // a grid cell is shown among its neighbours, a unit close up
    map.fitBounds(b, { padding: 80, maxZoom: isInterpolation(layerSelect.value) ? 13 : 16, duration: 300 });
  });
})();
