/* geo-grid map helpers: compact layers, zoom labels, search box, legend.
 *
 * Pages built by geo_grid/maps/ embed each layer as a compact object instead of GeoJSON, which
 * keeps the 1,063-grid x 5-layer coverage page small:
 *   {s: scale, f: [field names], p: [[values per feature]], g: [[type, parts]]}
 * Coordinates are integers (degrees x s) delta-encoded along one running cursor for the whole
 * layer and packed 5 bits a character as in Google's polyline format (one string per ring or
 * line); rings are stored open and closed again here. Types: P Polygon, M MultiPolygon,
 * L LineString, N MultiLineString, T Point, U MultiPoint, G GeometryCollection.
 * This file only decodes and draws; coordinates arrive already in the tile CRS.
 *
 * It also holds what every page script shares (so each has one copy, not its own): building
 * elements with text put in as text (el, fill), a point-in-polygon test (pointIn), and asking the
 * JSON API as the logged-in person with errors a person can read (requestJSON, apiError, say).
 * Every page loads it: the map pages (geo_grid/maps/assets.py: OwnAssets) and the pages of
 * geo_grid/pages/ (templates/base.html), before their own script.
 */
(function (global) {
  "use strict";
  var doc = global.document;

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function unpack(str) {
    var out = [], i = 0, n = str.length;
    while (i < n) {
      var b, shift = 0, result = 0;
      do {
        b = str.charCodeAt(i++) - 63;
        result |= (b & 31) << shift;
        shift += 5;
      } while (b >= 32);
      out.push(result & 1 ? ~(result >> 1) : result >> 1);
    }
    return out;
  }

  function decode(enc) {
    var s = enc.s, x = 0, y = 0;
    function run(str, close) {
      var a = unpack(str), out = [];
      for (var i = 0; i < a.length; i += 2) {
        x += a[i];
        y += a[i + 1];
        out.push([x / s, y / s]);
      }
      if (close && out.length) out.push(out[0].slice());
      return out;
    }
    function geom(g) {
      var parts = g[1];
      switch (g[0]) {
        case "P": return {type: "Polygon", coordinates: parts.map(function (r) { return run(r, true); })};
        case "M": return {type: "MultiPolygon", coordinates: parts.map(function (p) {
          return p.map(function (r) { return run(r, true); });
        })};
        case "L": return {type: "LineString", coordinates: run(parts, false)};
        case "N": return {type: "MultiLineString", coordinates: parts.map(function (r) { return run(r, false); })};
        case "T": return {type: "Point", coordinates: run(parts, false)[0]};
        case "U": return {type: "MultiPoint", coordinates: run(parts, false)};
        case "G": return {type: "GeometryCollection", geometries: parts.map(geom)};
      }
      throw new Error("geoGrid: unknown geometry type " + g[0]);
    }
    return enc.g.map(function (g, i) {
      var props = {};
      enc.f.forEach(function (name, j) { props[name] = enc.p[i][j]; });
      return {type: "Feature", properties: props, geometry: geom(g)};
    });
  }

  function fieldTable(props, rows) {
    var html = "";
    rows.forEach(function (row) {
      var v = props[row[0]];
      if (v === null || v === undefined || v === "") return;
      if (Array.isArray(v)) v = v.join(", ");
      html += "<tr><th>" + esc(row[1]) + "</th><td>" + esc(v) + "</td></tr>";
    });
    return html ? '<table class="gg-table">' + html + "</table>" : "";
  }

  function styleFor(opts, props) {
    var style = L.extend({}, opts.style || {});
    if (opts.styleField && opts.styles) L.extend(style, opts.styles[props[opts.styleField]] || {});
    return style;
  }

  /* A Leaflet layer from one compact object. opts: style, styleField + styles, tooltip and popup
   * ([[field, label]]), title (field shown first in bold), pins (mark small features with a dot),
   * point (circle-marker options). */
  function dataLayer(enc, opts) {
    opts = opts || {};
    var features = decode(enc);
    var group = L.featureGroup();
    var geo = L.geoJSON({type: "FeatureCollection", features: features}, {
      interactive: opts.interactive !== false,
      style: function (f) { return styleFor(opts, f.properties); },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, L.extend({radius: 4, interactive: opts.interactive !== false},
          opts.point || {}, styleFor(opts, f.properties)));
      },
      onEachFeature: function (f, layer) {
        var head = opts.title && f.properties[opts.title] ? "<b>" + esc(f.properties[opts.title]) + "</b>" : "";
        if (opts.tooltip) {
          var tip = head + fieldTable(f.properties, opts.tooltip);
          if (tip) layer.bindTooltip(tip, {sticky: true, className: "gg-tooltip"});
        }
        if (opts.popup) {
          var pop = head + fieldTable(f.properties, opts.popup);
          if (pop) layer.bindPopup(pop, {maxWidth: 360});
        }
        if (opts.hover && layer.setStyle) {
          layer.on("mouseover", function () { layer.setStyle(opts.hover); });
          layer.on("mouseout", function () { geo.resetStyle(layer); });
        }
        layer.feature = f;
      }
    });
    group.addLayer(geo);
    if (opts.pins) {
      geo.eachLayer(function (layer) {
        if (!layer.getBounds) return;
        var style = styleFor(opts, layer.feature.properties);
        var pin = L.circleMarker(layer.getBounds().getCenter(), {
          radius: 4, weight: 1, color: style.color || "#333", fillColor: style.fillColor || style.color || "#333",
          fillOpacity: 0.9
        });
        var pop = layer.getPopup();
        if (pop) pin.bindPopup(pop.getContent(), {maxWidth: 360});
        group.addLayer(pin);
      });
    }
    group.geo = geo;
    group.features = features;
    return group;
  }

  /* Names drawn at each feature's label point (property "_lp", else its bounds centre) when the
   * layer is shown and the map is zoomed to minZoom or closer; only those in view are made. */
  function zoomLabels(map, group, field, minZoom) {
    var labels = L.layerGroup();
    function refresh() {
      labels.clearLayers();
      if (!map.hasLayer(group) || map.getZoom() < minZoom) {
        if (map.hasLayer(labels)) map.removeLayer(labels);
        return;
      }
      var view = map.getBounds().pad(0.2);
      group.geo.eachLayer(function (layer) {
        var p = layer.feature.properties, text = p[field];
        if (!text) return;
        var at = p._lp ? L.latLng(p._lp[1], p._lp[0]) : (layer.getBounds ? layer.getBounds().getCenter() : layer.getLatLng());
        if (!view.contains(at)) return;
        labels.addLayer(L.marker(at, {
          icon: L.divIcon({className: "gg-label", html: "<span>" + esc(text) + "</span>", iconSize: null}),
          interactive: false, keyboard: false
        }));
      });
      if (!map.hasLayer(labels)) labels.addTo(map);
    }
    map.on("zoomend moveend overlayadd overlayremove", refresh);
    map.whenReady(refresh);
    return labels;
  }

  function pct(v) { return Math.round(100 * v) + "%"; }

  /* What a search hit says: its kind, name, match level and confidence, where it is, and the
   * people on duty in the grid that answers for it (or how many grids it covers). */
  function hitText(hit) {
    var where = [hit.street_name, hit.community_name].filter(Boolean).join(" ");
    var lines = ["<b>" + esc(hit.kind_zh) + "：" + esc(hit.name) + "</b>",
      "匹配级别 " + esc(hit.level) + " · 置信度 " + pct(hit.confidence) +
      (where ? " · " + esc(where) : "")];
    if (hit.reason_zh) lines.push(esc(hit.reason_zh));
    if (hit.grid_code) {
      lines.push("网格 " + esc(hit.grid_code));
      var duty = {};
      (hit.people || []).forEach(function (p) {
        (duty[p.role_zh] = duty[p.role_zh] || []).push(p.name);
      });
      var names = Object.keys(duty).map(function (r) { return r + " " + duty[r].join("、"); });
      lines.push(names.length ? "在岗：" + esc(names.join("；")) : "该网格暂无在岗人员");
    } else if (hit.grid_count > 1) {
      lines.push("涉及 " + hit.grid_count + " 个网格，放大后点选网格查看在岗人员");
    }
    return lines.join("<br>");
  }

  /* The search box: GET url?q=&limit=(&crs=) (/api/v1/search: streets, communities, roads, 小区,
   * villages, grids and door plates, typed hits best first), the hits listed, the first shown on
   * the map: its outline or line, or a pin, with its grid outlined when one answers for it. */
  function searchControl(map, opts) {
    var control = L.control({position: "topleft"});
    var shown = L.layerGroup().addTo(map);
    control.onAdd = function () {
      var box = L.DomUtil.create("form", "gg-search leaflet-bar");
      box.innerHTML = '<input type="search" placeholder="' +
        esc(opts.placeholder || "搜索地名、网格或门牌") +
        '" aria-label="搜索"><button type="submit">搜索</button>' +
        '<div class="gg-search-msg" aria-live="polite"></div><ul class="gg-search-hits"></ul>';
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var input = box.querySelector("input"), msg = box.querySelector(".gg-search-msg");
      var list = box.querySelector(".gg-search-hits"), hits = [];
      function show(i) {
        var hit = hits[i];
        shown.clearLayers();
        [].forEach.call(list.children, function (li, j) { li.classList.toggle("gg-picked", i === j); });
        if (hit.geometry) {
          var line = /LineString/.test(hit.geometry.type);
          if (line) {
            L.geoJSON(hit.geometry, {style: {color: "#111", weight: 9, opacity: 0.5}, interactive: false}).addTo(shown);
          }
          L.geoJSON(hit.geometry, {style: line ? {color: "#ffd600", weight: 5} :
            {color: "#111", weight: 3, fill: false, dashArray: hit.kind === "grid" ? null : "8 5"},
            interactive: false}).addTo(shown);
        }
        var grid = null;
        if (hit.grid_code && opts.group && hit.kind !== "grid") {
          opts.group.geo.eachLayer(function (layer) {
            if (layer.feature.properties[opts.codeField || "code"] === hit.grid_code) grid = layer;
          });
          if (grid) {
            L.geoJSON(grid.feature, {style: {color: "#111", weight: 3, fill: false}, interactive: false}).addTo(shown);
          }
        }
        var at = L.latLng(hit.lat, hit.lon);
        L.circleMarker(at, {radius: 7, color: "#111", weight: 2, fillColor: "#ffeb3b", fillOpacity: 1})
          .bindTooltip(esc(hit.name)).addTo(shown);
        var b = hit.bbox, bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
        if (grid) bounds.extend(grid.getBounds());
        if (bounds.getNorthEast().equals(bounds.getSouthWest())) {
          map.setView(at, Math.max(map.getZoom(), 17), {animate: false});
        } else {
          map.fitBounds(bounds, {maxZoom: 17, padding: [20, 20], animate: false});
        }
        msg.innerHTML = hitText(hit);
      }
      list.addEventListener("click", function (ev) {
        var li = ev.target.closest("li");
        if (li) show(Number(li.getAttribute("data-i")));
      });
      box.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var q = input.value.trim();
        if (!q) return;
        var url = opts.url + (opts.url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q) +
          "&limit=" + (opts.limit || 8);
        if (opts.crs) url += "&crs=" + encodeURIComponent(opts.crs);
        msg.textContent = "查询中…";
        list.innerHTML = "";
        shown.clearLayers();
        fetch(url, {headers: {Accept: "application/json"}}).then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        }).then(function (answer) {
          hits = answer.data || [];
          if (!hits.length) {
            msg.textContent = "未找到“" + q + "”：没有这个名称的街道、社区、道路、小区、网格，" +
              "地址库中也没有这个门牌";
            return;
          }
          list.innerHTML = hits.map(function (h, i) {
            return '<li data-i="' + i + '"><span class="gg-kind">' + esc(h.kind_zh) + "</span>" +
              esc(h.name) + " <small>" + pct(h.confidence) + "</small></li>";
          }).join("");
          show(0);
        }).catch(function (err) {
          msg.textContent = "搜索服务不可用（" + err.message + "）";
        });
      });
      return box;
    };
    control.addTo(map);
    return control;
  }

  /* A legend box: items are [label, {color, fillColor, dashArray}] pairs. */
  function legend(map, title, items, position) {
    var control = L.control({position: position || "bottomright"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-legend");
      var html = title ? "<h4>" + esc(title) + "</h4>" : "";
      items.forEach(function (item) {
        var st = item[1];
        html += '<div><i style="border-color:' + esc(st.color || "#333") + ";background:" +
          esc(st.fillColor || "transparent") + (st.dashArray ? ";border-style:dashed" : "") +
          '"></i>' + esc(item[0]) + "</div>";
      });
      div.innerHTML = html;
      var head = div.querySelector("h4");
      if (head) {  // a tap on the title folds or unfolds the legend (phones start folded)
        head.setAttribute("role", "button");
        L.DomEvent.on(head, "click", function () { div.classList.toggle("gg-folded"); });
      }
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  }

  /* Clustered point markers (leaflet.markercluster) from a compact point layer. Each marker is a
   * small coloured dot (a divIcon: no image files) coloured by opts.colorField / opts.colors. */
  function markerClusters(enc, opts) {
    opts = opts || {};
    // clusters in one neutral colour sized by count, so colour only ever means a case's status
    var group = L.markerClusterGroup({chunkedLoading: true, maxClusterRadius: 45,
      showCoverageOnHover: false, iconCreateFunction: function (cluster) {
        var n = cluster.getChildCount(), size = n < 10 ? 26 : n < 100 ? 32 : 40;
        return L.divIcon({className: "gg-cluster", html: "<span>" + n + "</span>",
          iconSize: [size, size]});
      }});
    var markers = [];
    decode(enc).forEach(function (f) {
      if (!f.geometry || f.geometry.type !== "Point") return;
      var c = f.geometry.coordinates, p = f.properties;
      var colour = (opts.colors && opts.colors[p[opts.colorField]]) || opts.color || "#1565c0";
      var m = L.marker([c[1], c[0]], {icon: L.divIcon({className: "gg-dot",
        html: '<i style="background:' + esc(colour) + '"></i>', iconSize: [12, 12]})});
      var head = opts.title && p[opts.title] ? "<b>" + esc(p[opts.title]) + "</b>" : "";
      if (opts.popup) m.bindPopup(head + fieldTable(p, opts.popup), {maxWidth: 360});
      m.feature = f;
      markers.push(m);
    });
    group.addLayers(markers);
    group.features = markers.length;
    return group;
  }

  /* A heat map (leaflet.heat) of the points of a compact layer; opts.weight names a field. */
  function heatLayer(enc, opts) {
    opts = opts || {};
    var pts = [];
    decode(enc).forEach(function (f) {
      if (!f.geometry || f.geometry.type !== "Point") return;
      var c = f.geometry.coordinates;
      pts.push([c[1], c[0], opts.weight ? Number(f.properties[opts.weight]) || 1 : 1]);
    });
    return L.heatLayer(pts, L.extend({radius: 18, blur: 15, minOpacity: 0.25, maxZoom: 16},
      opts.heat || {}));
  }

  /* Vector tiles (Leaflet.VectorGrid) from /tiles/{layer}/{z}/{x}/{y}.pbf: used for layers whose
   * inline data would be too big (see docs/maps.md). opts: style (Leaflet path style), minZoom,
   * tooltip ([[field, label]]), title. */
  function vectorTiles(url, opts) {
    opts = opts || {};
    // Leaflet >= 1.8 dropped DomEvent.fakeStop, which VectorGrid 1.3 calls on click
    if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = function () { return true; };
    var layerName = opts.layerName || "grids";
    var styles = {};
    styles[layerName] = function () { return L.extend({fill: true}, opts.style || {}); };
    var grid = L.vectorGrid.protobuf(url, {
      vectorTileLayerStyles: styles,
      interactive: !!(opts.tooltip || opts.title),
      minZoom: opts.minZoom || 0,
      maxNativeZoom: opts.maxNativeZoom || 18,
      rendererFactory: L.canvas.tile,
      getFeatureId: function (f) { return f.properties.code || f.properties.id; }
    });
    if (opts.tooltip || opts.title) {
      grid.on("click", function (e) {
        var p = e.layer.properties || {};
        var head = opts.title && p[opts.title] ? "<b>" + esc(p[opts.title]) + "</b>" : "";
        L.popup().setLatLng(e.latlng).setContent(head + fieldTable(p, opts.tooltip || []))
          .openOn(grid._map);
      });
    }
    return grid;
  }

  /* The district's own base when there are no tiles: roads (a white line on a grey casing) and
   * the names of streets, communities, roads, 小区 and villages, each kind shown between the zooms
   * opts.zooms gives it, road names turned along their road. Drawn in panes under the overlays
   * (roads) and just over their fills (names), never interactive. Returns a layer group the
   * layer control can switch off. */
  function vectorBase(map, roads, places, opts) {
    var panes = [["ggBase", 250], ["ggBaseLabels", 450]];
    panes.forEach(function (p) {
      if (!map.getPane(p[0])) {
        var pane = map.createPane(p[0]);
        pane.style.zIndex = p[1];
        pane.style.pointerEvents = "none";
      }
    });
    var renderer = L.canvas({pane: "ggBase", padding: 0.3});
    var group = L.layerGroup(), labels = L.layerGroup();
    var roadFeatures = decode(roads), placeFeatures = decode(places);
    [opts.casing, opts.road].forEach(function (style) {
      group.addLayer(L.geoJSON({type: "FeatureCollection", features: roadFeatures}, {
        pane: "ggBase", renderer: renderer, interactive: false,
        style: function () { return L.extend({lineCap: "round", lineJoin: "round"}, style); }
      }));
    });
    function label(at, text, kind, angle) {
      var turn = angle ? ' style="transform: translate(-50%, -50%) rotate(' + angle + 'deg)"' : "";
      return L.marker(at, {pane: "ggBaseLabels", interactive: false, keyboard: false,
        icon: L.divIcon({className: "gg-base-label gg-base-" + kind, iconSize: null,
          html: "<span" + turn + ">" + esc(text) + "</span>"})});
    }
    function refresh() {
      labels.clearLayers();
      if (!map.hasLayer(group)) return;
      var z = map.getZoom(), view = map.getBounds().pad(0.1), zooms = opts.zooms;
      var shown = function (kind) { var r = zooms[kind]; return r && z >= r[0] && z < r[1]; };
      if (shown("road")) {
        roadFeatures.forEach(function (f) {
          var p = f.properties;
          if (!p._lp || !p.name) return;
          var at = L.latLng(p._lp[1], p._lp[0]);
          if (view.contains(at)) labels.addLayer(label(at, p.name, "road", p._a));
        });
      }
      placeFeatures.forEach(function (f) {
        var p = f.properties, c = f.geometry && f.geometry.coordinates;
        if (!c || !shown(p.kind)) return;
        var at = L.latLng(c[1], c[0]);
        if (view.contains(at)) labels.addLayer(label(at, p.name, p.kind));
      });
    }
    group.on("add", function () { labels.addTo(map); refresh(); });
    group.on("remove", function () { map.removeLayer(labels); });
    map.on("zoomend moveend", refresh);
    group.addTo(map);
    return group;
  }

  /* The scale bar of every page: metres and kilometres only (Leaflet's default adds miles).
   * Every page calls it once: it also makes this map the page's (geoGrid.pageMap). */
  function scale(map) {
    global.geoGrid.pageMap = map;
    // Leaflet's credit as text: its default links to leafletjs.com, which an intranet cannot open
    if (map.attributionControl) map.attributionControl.setPrefix("Leaflet");
    return L.control.scale({metric: true, imperial: false, maxWidth: 160}).addTo(map);
  }

  /* A viewer of part of the district (a street leader, a grid worker): the page opens on their
   * area, names it, and outlines their grids (added by the server: geo_grid/maps/page.py
   * focus_html). Runs after the page's own script, so after its opening view. */
  function focus(area) {
    var map = global.geoGrid.pageMap;
    if (!map) return;
    global.geoGrid.focusName = area.place || area.name;  // what the print layout is of
    var b = area.bounds, bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    map.fitBounds(bounds, {padding: [24, 24], maxZoom: 16, animate: false});
    var codes = {};
    (area.codes || []).forEach(function (c) { codes[c] = true; });
    if (area.codes && area.codes.length) {
      map.eachLayer(function (layer) {
        var p = layer.feature && layer.feature.properties;
        if (p && codes[p.code] && layer.getBounds && !layer._ggFocus) {
          var o = L.geoJSON(layer.feature, {style: {color: "#d81b60", weight: 4, fill: false},
            interactive: false});
          o.eachLayer(function (l) { l._ggFocus = true; });
          o.addTo(map);
        }
      });
    }
    var box = infoBox(map, "<b>" + esc(area.name) + "</b>", "topright");
    box.getContainer().classList.add("gg-focus");
  }

  /* A phone-sized page: the layer control folds into its button (a tap opens it, a tap on the
   * map folds it), legends fold to their title, and the text boxes of the top-right corner and
   * the legends of the bottom-right one move to the bottom-left one, stacked (the legend above
   * the box), so nothing covers the search box and no box covers another (two boxes side by
   * side are wider than a phone). Every page calls it last. */
  function compact(map) {
    var root = map.getContainer();
    var layers = root.querySelector(".leaflet-control-layers");
    var link = layers && layers.querySelector(".leaflet-control-layers-toggle");
    if (link) { link.title = "图层"; link.setAttribute("aria-label", "图层"); }
    if (!(global.matchMedia && global.matchMedia("(max-width: 640px)").matches)) return;
    root.classList.add("gg-narrow");
    if (layers) {
      var fold = function () { L.DomUtil.removeClass(layers, "leaflet-control-layers-expanded"); };
      fold();
      map.on("click", fold);
    }
    [].forEach.call(root.querySelectorAll(".gg-legend"), function (el) { el.classList.add("gg-folded"); });
    var corner = root.querySelector(".leaflet-bottom.leaflet-left");
    [].forEach.call(root.querySelectorAll(".leaflet-top.leaflet-right .gg-info, " +
        ".leaflet-bottom.leaflet-right .gg-legend"), function (el) {
      corner.insertBefore(el, corner.firstChild);
    });
  }

  /* A small fixed box of text (page title, summary figures); on a phone-sized page the top-right
   * corner's boxes go to the bottom-left one (see compact). */
  function infoBox(map, html, position) {
    position = position || "topright";
    if (position === "topright" && map.getContainer().classList.contains("gg-narrow")) {
      position = "bottomleft";
    }
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-info");
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  }

  /* ------------------------------------------------------------------ page helpers */
  /* Append children: nodes, or strings as text (null, undefined and "" skipped). */
  function append(node, children) {
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined && c !== "") {
        node.appendChild(typeof c === "string" ? doc.createTextNode(c) : c);
      }
    });
    return node;
  }

  /* A new element: attrs.text is its text (as text, never HTML), attrs.className its class, any
   * other key an attribute. */
  function el(tag, attrs, children) {
    var node = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    return append(node, children);
  }

  /* Replace a node's children. */
  function fill(node, children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return append(node, children);
  }

  /* Whether (x, y) lies in a GeoJSON Polygon or MultiPolygon (even-odd rule, holes excluded). */
  function pointIn(x, y, geom) {
    function ring(r) {
      var inside = false;
      for (var i = 0, j = r.length - 1; i < r.length; j = i++) {
        var xi = r[i][0], yi = r[i][1], xj = r[j][0], yj = r[j][1];
        if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    }
    var polys = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
    return polys.some(function (rings) { return ring(rings[0]) && !rings.slice(1).some(ring); });
  }

  /* What every page says of these statuses; a page names its own 403, 404, 409 … */
  var STATUS_TEXT = {
    401: "登录已失效，请重新登录后再试。",
    429: "操作太频繁，请稍后再试。",
    503: "系统暂时无法访问数据库，请稍后再试。"
  };

  /* An Error a person can read for an API answer that is not ok (status 0: no answer): the
   * page's words (``own``: a table by status, or a function of the status and the answer's
   * error), else what every page says of the status, else a general text; the API's own
   * (English) words kept as ``detail`` for 技术信息. */
  function apiError(status, body, own) {
    var err = (body && body.error) || {};
    var text = typeof own === "function" ? own(status, err) : (own || {})[status];
    var e = new Error(text || STATUS_TEXT[status] || "操作没有成功（错误 " + status + "），请稍后再试。");
    e.status = status;
    e.detail = err.message || (typeof body === "string" ? body : "");
    return e;
  }

  /* Ask the JSON API as the logged-in person (the session cookie; X-Requested-With: geo-grid,
   * without which the API refuses a write made with it: api/auth.py, no CSRF). ``init``: method,
   * body (sent as given), headers. The answer's JSON, or ``failure(status, body)`` thrown. */
  function requestJSON(url, init, failure) {
    init = init || {};
    var headers = {"Accept": "application/json", "X-Requested-With": "geo-grid"};
    Object.keys(init.headers || {}).forEach(function (k) { headers[k] = init.headers[k]; });
    return global.fetch(url, {method: init.method || "GET", body: init.body, headers: headers,
                              credentials: "same-origin"})
      .catch(function () { throw failure(0, {error: {message: "network error"}}); })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (body) {
          if (!r.ok) throw failure(r.status, body);
          return body;
        });
      });
  }

  /* A status line: the Chinese text, and the API's own words folded under 技术信息. */
  function say(node, text, kind, detail) {
    if (!node) return;
    node.className = "gg-msg" + (kind ? " gg-" + kind : "");
    fill(node, [text || ""]);
    if (detail) node.appendChild(el("details", {}, [el("summary", {text: "技术信息"}), el("code", {text: detail})]));
  }

  global.geoGrid = {decode: decode, dataLayer: dataLayer, zoomLabels: zoomLabels,
    searchControl: searchControl, legend: legend, esc: esc, unpack: unpack,
    fieldTable: fieldTable, markerClusters: markerClusters, heatLayer: heatLayer,
    vectorTiles: vectorTiles, infoBox: infoBox, scale: scale, vectorBase: vectorBase,
    focus: focus, compact: compact, el: el, fill: fill, pointIn: pointIn, apiError: apiError,
    requestJSON: requestJSON, say: say};
})(window);
