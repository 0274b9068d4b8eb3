/* geo-grid map helpers: compact layers, zoom labels, search box, legend.
 *
 * Pages built by geo_grid/maps.py embed each layer as a compact object instead of GeoJSON, which
 * keeps the 1,063-grid x 5-layer coverage page small:
 *   {s: scale, f: [field names], p: [[values per feature]], g: [[type, parts]]}
 * Coordinates are integers (degrees x s) delta-encoded along one running cursor for the whole
 * layer and packed 5 bits a character as in Google's polyline format (one string per ring or
 * line); rings are stored open and closed again here. Types: P Polygon, M MultiPolygon,
 * L LineString, N MultiLineString, T Point, U MultiPoint, G GeometryCollection.
 * This file only decodes and draws; coordinates arrive already in the tile CRS.
 */
(function (global) {
  "use strict";

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

  function findCoords(data) {
    if (!data || typeof data !== "object") return null;
    if (data.geometry && data.geometry.type === "Point") return data.geometry.coordinates;
    if (typeof data.lon === "number" && typeof data.lat === "number") return [data.lon, data.lat];
    var keys = ["point", "location", "result", "best", "match"];
    for (var i = 0; i < keys.length; i++) {
      var found = findCoords(data[keys[i]]);
      if (found) return found;
    }
    if (Array.isArray(data.features) && data.features.length) return findCoords(data.features[0]);
    if (Array.isArray(data.data) && data.data.length) return findCoords(data.data[0]);
    return null;
  }

  function findGridCode(data, layerKey) {
    if (!data || typeof data !== "object") return null;
    if (typeof data.grid_code === "string") return data.grid_code;
    var grids = data.grids || data.grid;
    if (typeof grids === "string") return grids;
    if (grids && typeof grids === "object") {
      var g = grids[layerKey] !== undefined ? grids[layerKey] : grids.code;
      if (typeof g === "string") return g;
      if (g && typeof g.code === "string") return g.code;
    }
    var keys = ["properties", "result", "best", "match"];
    for (var i = 0; i < keys.length; i++) {
      var found = findGridCode(data[keys[i]], layerKey);
      if (found) return found;
    }
    if (Array.isArray(data.features) && data.features.length) return findGridCode(data.features[0], layerKey);
    if (Array.isArray(data.data) && data.data.length) return findGridCode(data.data[0], layerKey);
    return null;
  }

  /* An address box: GET url?q=...(&crs=...) and show the point and its grid. The answer may be a
   * GeoJSON Feature or an object with lon/lat (possibly under point/result/best) and grid_code or
   * grids[layer] (string or {code}); coordinates must be in the tile CRS (asked for with crs). */
  function searchControl(map, opts) {
    var control = L.control({position: "topleft"});
    var marker = null, outline = null;
    control.onAdd = function () {
      var box = L.DomUtil.create("form", "gg-search leaflet-bar");
      box.innerHTML = '<input type="search" placeholder="' + esc(opts.placeholder || "搜索地址") +
        '" aria-label="地址"><button type="submit">搜索</button><div class="gg-search-msg"></div>';
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var input = box.querySelector("input"), msg = box.querySelector(".gg-search-msg");
      box.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var q = input.value.trim();
        if (!q) return;
        var url = opts.url + (opts.url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q);
        if (opts.crs) url += "&crs=" + encodeURIComponent(opts.crs);
        msg.textContent = "查询中…";
        fetch(url, {headers: {Accept: "application/json"}}).then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        }).then(function (data) {
          var xy = findCoords(data), code = findGridCode(data, opts.layerKey);
          if (marker) map.removeLayer(marker);
          if (outline) map.removeLayer(outline);
          marker = outline = null;
          if (data && data.status === "unmatched") xy = code = null;
          if (!xy && !code) {
            var why = data && (data.reason_zh || data.reason);
            msg.textContent = "未匹配到地址" + (why ? "（" + why + "）" : "");
            return;
          }
          var label = (data && data.matched_text) || q;
          // /geocode answers in storage coordinates: on shifted (GCJ-02) tiles only the grid,
          // which was shifted with the other overlays, is drawn, never an unshifted point
          var at = xy && !opts.crs ? L.latLng(xy[1], xy[0]) : null;
          if (at) {
            marker = L.circleMarker(at, {radius: 7, color: "#111", weight: 2, fillColor: "#ffeb3b",
              fillOpacity: 1}).bindTooltip(esc(label)).addTo(map);
          }
          var hit = null;
          if (code && opts.group) {
            opts.group.geo.eachLayer(function (layer) {
              if (layer.feature.properties[opts.codeField || "code"] === code) hit = layer;
            });
          }
          if (hit) {
            outline = L.geoJSON(hit.feature, {style: {color: "#111", weight: 4, fill: false}, interactive: false}).addTo(map);
            map.fitBounds(hit.getBounds(), {maxZoom: 17});
            var name = hit.feature.properties.name;
            msg.textContent = label + " → 网格 " + code + (name ? " " + name : "") +
              (data.status === "ambiguous" ? "（多个候选，请核实）" : "");
          } else if (at) {
            map.setView(at, Math.max(map.getZoom(), 16));
            msg.textContent = code ? label + " → 网格 " + code : "已定位，未落入网格";
          } else {
            msg.textContent = "网格 " + code + " 不在本图";
          }
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

  /* The scale bar of every page: metres and kilometres only (Leaflet's default adds miles). */
  function scale(map) {
    return L.control.scale({metric: true, imperial: false, maxWidth: 160}).addTo(map);
  }

  /* A small fixed box of text (page title, summary figures). */
  function infoBox(map, html, position) {
    var control = L.control({position: position || "topright"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gg-info");
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  }

  global.geoGrid = {decode: decode, dataLayer: dataLayer, zoomLabels: zoomLabels,
    searchControl: searchControl, legend: legend, esc: esc, unpack: unpack,
    fieldTable: fieldTable, markerClusters: markerClusters, heatLayer: heatLayer,
    vectorTiles: vectorTiles, infoBox: infoBox, scale: scale};
})(window);
