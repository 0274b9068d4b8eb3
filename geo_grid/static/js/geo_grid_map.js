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
          if (!xy) { msg.textContent = "未匹配到地址"; return; }
          var at = L.latLng(xy[1], xy[0]);
          marker = L.circleMarker(at, {radius: 7, color: "#111", weight: 2, fillColor: "#ffeb3b", fillOpacity: 1})
            .bindTooltip(esc(q)).addTo(map);
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
            msg.textContent = "网格 " + code + (name ? " " + name : "");
          } else {
            map.setView(at, Math.max(map.getZoom(), 16));
            msg.textContent = code ? "网格 " + code : "已定位，未落入网格";
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

  global.geoGrid = {decode: decode, dataLayer: dataLayer, zoomLabels: zoomLabels,
    searchControl: searchControl, legend: legend, esc: esc, unpack: unpack};
})(window);
