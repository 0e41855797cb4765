// Investment planner: every change of budget, weights or marker run asks the server to solve
// the selection again (exact integer program, well under a second) and redraws the summary,
// the map of projects, the budget curve and the table from its answer. The server's JSON is
// the only source of figures: nothing is computed here.
(function () {
  var cfg = JSON.parse(document.getElementById("planner-config").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var locale = cfg.lang === "es" ? "es-CO" : "en-GB";
  var pending = null;
  var asked = 0;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function num(v, digits) {
    if (v === null || v === undefined) { return "—"; }
    return Number(v).toLocaleString(locale, { maximumFractionDigits: digits || 0 });
  }
  function money(v) { return cfg.currency + " " + num(v, 0); }

  function query() {
    var q = new URLSearchParams({ budget: $("budget").value, run: $("run").value, lang: cfg.lang });
    document.querySelectorAll("input[data-area]").forEach(function (el) {
      if (el.value !== "1") { q.set("w." + el.getAttribute("data-area"), el.value); }
    });
    document.querySelectorAll("input[data-share]").forEach(function (el) {
      var v = Number(el.value);
      if (el.value !== "" && v > 0 && v <= 100) { q.set(el.name, String(v)); }
    });
    return q.toString();
  }

  // ---- map -------------------------------------------------------------------------------
  var map = null;
  var mapReady = false;
  function setupMap() {
    var style = { version: 8, sources: {}, layers: [
      { id: "background", type: "background", paint: { "background-color": "#eef1f4" } }
    ] };
    var credits = [esc(cfg.cityName)];
    if (cfg.basemap) {
      style.sources.basemap = { type: "raster", tiles: [cfg.basemap.url], tileSize: 256, maxzoom: 19 };
      style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
      credits.unshift(esc(cfg.basemap.attribution));
    }
    map = new maplibregl.Map({ container: "planner-map", style: style, center: [0, 0], zoom: 1,
      attributionControl: false, maxZoom: 18 });
    window.plannerMap = map;  // for browser tests and the console
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.AttributionControl({ customAttribution: credits }));
    map.on("error", function (e) {
      if (e && e.sourceId === "basemap") {
        document.body.setAttribute("data-basemap-failed", "true");
        map.triggerRepaint();
      }
    });
    var popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
    map.on("load", function () {
      map.addSource("units", { type: "geojson", data: cfg.units });
      map.addLayer({ id: "units-fill", type: "fill", source: "units",
        paint: { "fill-color": ["get", "colour"], "fill-opacity": 0.55 } });
      map.addLayer({ id: "units-line", type: "line", source: "units",
        paint: { "line-color": "#ffffff", "line-width": 0.6 } });
      map.addSource("projects", { type: "geojson", data: cfg.projects });
      map.addLayer({ id: "projects", type: "circle", source: "projects", paint: {
        "circle-radius": ["case", ["==", ["get", "chosen"], true], 8, 5],
        "circle-color": ["case", ["==", ["get", "chosen"], true], "#1d2733", "#ffffff"],
        "circle-stroke-color": "#1d2733", "circle-stroke-width": 2 } });
      if (cfg.projects.bbox) {
        var b = cfg.projects.bbox, u = cfg.units.bbox || b;
        map.fitBounds([[Math.min(b[0], u[0]), Math.min(b[1], u[1])], [Math.max(b[2], u[2]), Math.max(b[3], u[3])]],
          { padding: 30, duration: 0 });
      }
      map.on("mousemove", "projects", function (e) {
        var p = e.features[0].properties;
        map.getCanvas().style.cursor = "pointer";
        popup.setLngLat(e.lngLat).setHTML("<strong>" + esc(p.name) + "</strong><br>" + esc(money(p.cost)) +
          "<br>" + esc(p.chosen === true || p.chosen === "true" ? cfg.text.chosen : cfg.text.notChosen)).addTo(map);
      });
      map.on("mouseleave", "projects", function () { map.getCanvas().style.cursor = ""; popup.remove(); });
      map.on("mousemove", "units-fill", function (e) {
        if (map.queryRenderedFeatures(e.point, { layers: ["projects"] }).length) { return; }
        var u = e.features[0].properties;
        popup.setLngLat(e.lngLat).setHTML("<strong>" + esc(u.name) + "</strong> " + esc(u.code) + "<br>" +
          esc(cfg.text.marker) + ": " + esc(num(u.score, 1)) + " · " + esc(u.level)).addTo(map);
      });
      map.on("mouseleave", "units-fill", function () { popup.remove(); });
      mapReady = true;
      if (state.last) { drawMap(state.last); }
    });
  }
  var state = { last: null };
  function drawMap(result) {
    if (!mapReady) { return; }
    var chosen = {};
    result.projects.forEach(function (p) { chosen[p.code] = p.chosen; });
    cfg.projects.features.forEach(function (f) { f.properties.chosen = !!chosen[f.properties.code]; });
    map.getSource("projects").setData(cfg.projects);
    document.body.setAttribute("data-map-ready", "true");
  }

  // ---- summary, curve, table ---------------------------------------------------------------
  function drawSummary(r) {
    $("sum-count").textContent = cfg.text.countOf.replace("{count}", num(r.count)).replace("{total}", num(r.projects.length));
    $("sum-cost").textContent = money(r.spent);
    $("sum-people").textContent = num(r.people);
    $("sum-split").textContent = cfg.text.split.replace("{host}", num(r.host)).replace("{migrant}", num(r.migrant))
      .replace("{period}", r.population_period || "");
    $("sum-benefit").textContent = num(r.benefit, 1);
    $("sum-greedy").textContent = r.greedy_text || "";
  }
  // the curve is asked for after the selection (ten solves when the weights change, cached
  // while only the budget moves), so the table and the map never wait for it
  function drawCurve(mine, q) {
    fetch(cfg.curveUrl + "?" + q, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (c) {
        if (!c || mine !== asked || !window.vegaEmbed) { return; }
        return window.vegaEmbed($("curve"), c.curve_spec, { actions: false, renderer: "svg" }).then(function () {
          $("curve").setAttribute("data-rendered", String(c.budget));
        });
      })
      .catch(function (err) { $("curve").textContent = String(err); });
  }
  function drawTable(r) {
    var rows = r.projects.slice().sort(function (a, b) {
      return (b.chosen - a.chosen) || (b.benefit - a.benefit);
    });
    $("projects-table").querySelector("tbody").innerHTML = rows.map(function (p) {
      return '<tr data-code="' + esc(p.code) + '"' + (p.chosen ? ' class="chosen"' : "") + ">" +
        "<td>" + (p.chosen ? "✔ " + esc(cfg.text.yes) : esc(cfg.text.no)) + "</td>" +
        "<td>" + esc(p.name) + ' <span class="code">' + esc(p.code) + "</span></td>" +
        "<td>" + esc(p.type_label) + "</td><td>" + esc(p.locality_label) + "</td>" +
        '<td class="num">' + esc(money(p.cost)) + "</td>" +
        '<td class="num">' + esc(num(p.host)) + "</td>" +
        '<td class="num">' + esc(num(p.migrant)) + "</td>" +
        '<td class="num">' + esc(num(p.benefit, 1)) + "</td>" +
        "<td>" + esc(p.greedy ? cfg.text.yes : cfg.text.no) + "</td>" +
        '<td class="num robust">…</td></tr>';
    }).join("");
  }
  // how often each project is chosen over the marker's simulations: many more solves, so
  // asked for last and filled in when it arrives
  function drawRobust(mine, q) {
    fetch(cfg.robustUrl + "?" + q, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (r) {
        if (!r || mine !== asked) { return; }
        document.querySelectorAll("#projects-table tbody tr").forEach(function (tr) {
          var share = r.shares[tr.getAttribute("data-code")];
          tr.querySelector("td.robust").textContent = share == null ? "—" : num(100 * share, 0) + " %";
        });
        $("projects-table").setAttribute("data-robust", String(r.budget));
      });
  }
  function show(r, mine, q) {
    state.last = r;
    var error = $("solve-error");
    if (r.error) {
      error.textContent = r.error; error.hidden = false;
    } else {
      error.hidden = true;
    }
    drawSummary(r); drawTable(r); drawMap(r);
    $("download-xlsx").href = cfg.xlsxUrl + "?" + q;
    $("download-pdf").href = cfg.pdfUrl + "?" + q;
    drawCurve(mine, q);
    drawRobust(mine, q);
    document.body.setAttribute("data-solved", String(r.budget));
  }

  function solve() {
    var mine = ++asked;
    var q = query();
    document.body.setAttribute("data-solving", "true");
    fetch(cfg.solveUrl + "?" + q, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.description || response.statusText); }
          return body;
        });
      })
      .then(function (r) { if (mine === asked) { show(r, mine, q); } })
      .catch(function (err) {
        if (mine !== asked) { return; }
        $("solve-error").textContent = String(err.message || err); $("solve-error").hidden = false;
      })
      .finally(function () { if (mine === asked) { document.body.removeAttribute("data-solving"); } });
  }
  function later() {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(solve, 150);
  }

  $("budget").addEventListener("input", function () {
    $("budget-value").textContent = money($("budget").value);
    later();
  });
  $("run").addEventListener("change", solve);
  document.querySelectorAll("input[data-area]").forEach(function (el) {
    el.addEventListener("input", function () {
      $("wv-" + el.getAttribute("data-area")).textContent = num(el.value, 1);
      later();
    });
  });
  document.querySelectorAll("input[data-share]").forEach(function (el) {
    el.addEventListener("input", later);
  });
  $("reset-weights").addEventListener("click", function () {
    document.querySelectorAll("input[data-area]").forEach(function (el) {
      el.value = "1"; $("wv-" + el.getAttribute("data-area")).textContent = "1";
    });
    solve();
  });

  setupMap();
  solve();
})();
