/* geo-grid plan page: draw a split line or a new boundary, preview its impact, then accept.
 *
 * geoGridPlan.editor(map, {planId, apiBase}, {after, context}) where after/context are the plan's
 * changed and unchanged grid layers (geoGrid.dataLayer). A drawn line goes to
 * POST {apiBase}/{planId}/split?dry_run=true as {grid, line}; a polygon to .../reshape?dry_run=true
 * as {grid, geometry}; grid is the grid the line's middle or the polygon's centre lies in. The
 * answer (the plan API's EditOut: grids FeatureCollection, impact.moved, added/changed) is drawn
 * in orange with the households, addresses and buildings that would move; 接受 sends the same body
 * without dry_run and reloads the page where the planner was (the view kept in sessionStorage).
 * 全部采纳建议 posts {} to {apiBase}/{planId}/accept-suggestion (a job, geoGridJobs.run) and shows
 * its progress until the page reloads. The planner's workspace (/plans/{id},
 * geo_grid_workspace.js) edits without reloading. Coordinates are storage lon/lat (the page is
 * only editable when the base map needs no shift).
 */
(function (global) {
  "use strict";
  var esc = function (v) { return global.geoGrid.esc(v); };

  function post(url, body) {
    // X-Requested-With: the API accepts the session cookie on writes only with it (no CSRF)
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json",
      Accept: "application/json", "X-Requested-With": "geo-grid"}, credentials: "same-origin",
      body: JSON.stringify(body)}).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) {
          var d = data && ((data.error && data.error.message) || data.detail || data.message);
          throw new Error(typeof d === "string" ? d : d ? JSON.stringify(d) : "HTTP " + r.status);
        }
        return data;
      });
    });
  }

  function features(data) {
    var g = data && data.grids;
    if (g && (g.type === "FeatureCollection" || g.type === "Feature")) return g;
    return null;
  }

  function summary(data) {
    var moved = (data && data.impact && data.impact.moved) || {};
    var parts = [];
    if (data && data.added && data.added.length) parts.push("新增网格 " + data.added.join("、"));
    if (data && data.changed && data.changed.length) parts.push("调整网格 " + data.changed.join("、"));
    [["households", "户"], ["addresses", "个地址"], ["buildings", "栋楼"], ["open_cases", "件未结案件"],
      ["roster", "名人员"]].forEach(function (kv) {
      if (moved[kv[0]]) parts.push("移动 " + moved[kv[0]] + " " + kv[1]);
    });
    (data && data.warnings || []).forEach(function (w) { parts.push("⚠ " + w); });
    return parts.join("；");
  }

  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function inPolygon(x, y, geom) {
    var polys = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
    return polys.some(function (rings) {
      return inRing(x, y, rings[0]) && !rings.slice(1).some(function (h) { return inRing(x, y, h); });
    });
  }

  function editor(map, opts, layers) {
    var drawn = new L.FeatureGroup().addTo(map), impact = null, pending = null;
    var viewKey = "geo-grid-plan-view-" + opts.planId, kept = null;
    try { kept = JSON.parse(global.sessionStorage.getItem(viewKey) || "null"); global.sessionStorage.removeItem(viewKey); } catch (e) { kept = null; }
    if (kept) {  // after the page's own opening fit (it runs after this script's call)
      map.whenReady(function () { global.setTimeout(function () { map.setView([kept[0], kept[1]], kept[2], {animate: false}); }, 0); });
    }
    var draw = new L.Control.Draw({
      position: "topleft",
      draw: {polyline: {shapeOptions: {color: "#d50000", weight: 3}}, polygon: {allowIntersection: false,
        shapeOptions: {color: "#d50000", weight: 3}}, rectangle: false, circle: false, marker: false,
        circlemarker: false},
      edit: {featureGroup: drawn, edit: false, remove: true}
    });
    map.addControl(draw);
    var box = L.control({position: "topright"});
    var div;
    box.onAdd = function () {
      div = L.DomUtil.create("div", "gg-info gg-plan");
      div.innerHTML = "<h3>方案调整</h3><div class='gg-plan-msg'>用左侧工具画一条分割线，或画出新的边界</div>" +
        "<button type='button' class='gg-accept-all' title='按户数标准采纳全部拆分与合并建议'>全部采纳建议</button>";
      L.DomEvent.disableClickPropagation(div);
      div.querySelector(".gg-accept-all").addEventListener("click", acceptAll);
      return div;
    };
    box.addTo(map);
    function say(html) { div.querySelector(".gg-plan-msg").innerHTML = html; }

    function gridAt(latlng) {
      var code = null;
      ["after", "context"].forEach(function (key) {
        if (code || !layers || !layers[key]) return;
        layers[key].geo.eachLayer(function (l) {
          if (!code && inPolygon(latlng.lng, latlng.lat, l.feature.geometry)) code = l.feature.properties.code;
        });
      });
      return code;
    }

    function middle(latlngs) {
      var i = Math.floor((latlngs.length - 1) / 2), a = latlngs[i], b = latlngs[i + 1] || a;
      return L.latLng((a.lat + b.lat) / 2, (a.lng + b.lng) / 2);
    }

    map.on(L.Draw.Event.CREATED, function (ev) {
      drawn.clearLayers();
      if (impact) map.removeLayer(impact);
      impact = pending = null;
      drawn.addLayer(ev.layer);
      var geo = ev.layer.toGeoJSON().geometry, base = opts.apiBase + "/" + encodeURIComponent(opts.planId);
      var grid, url, body;
      if (ev.layerType === "polyline") {
        grid = gridAt(middle(ev.layer.getLatLngs()));
        url = base + "/split";
        body = {grid: grid, line: geo};
      } else {
        grid = gridAt(ev.layer.getBounds().getCenter());
        url = base + "/reshape";
        body = {grid: grid, geometry: geo};
      }
      if (!grid) { say("所画图形的中点不在任何网格内，请重画"); return; }
      pending = {url: url, body: body};
      say("计算影响中…");
      post(url + "?dry_run=true", body).then(function (data) {
        var fc = features(data);
        if (fc) {
          impact = L.geoJSON(fc, {style: {color: "#e65100", weight: 2, fillColor: "#ffca28",
            fillOpacity: 0.35}}).addTo(map);
        }
        say("<b>网格 " + esc(grid) + "</b>：" + esc(summary(data) || "无变化") +
          '<br><button type="button" class="gg-accept">接受</button> ' +
          '<button type="button" class="gg-cancel">放弃</button>');
        div.querySelector(".gg-accept").addEventListener("click", accept);
        div.querySelector(".gg-cancel").addEventListener("click", cancel);
      }).catch(function (err) { pending = null; say("无法预览（" + esc(err.message) + "）"); });
    });

    function acceptAll() {
      // every suggestion of the household band, as a job: its progress until the page reloads
      var btn = div.querySelector(".gg-accept-all");
      btn.disabled = true;
      say("提交中…");
      var url = opts.apiBase + "/" + encodeURIComponent(opts.planId) + "/accept-suggestion";
      global.geoGridJobs.run(url, {}, function (text) { say(esc(text)); }).then(function (job) {
        var n = (job.result && job.result.applied || []).length;
        say("已采纳 " + n + " 条建议，正在刷新…");
        global.location.reload();
      }).catch(function (err) { say(esc(err.message)); btn.disabled = false; });
    }

    function cancel() {
      drawn.clearLayers();
      if (impact) map.removeLayer(impact);
      impact = pending = null;
      say("已放弃。用左侧工具重新绘制");
    }

    function accept() {
      if (!pending) return;
      say("提交中…");
      post(pending.url, pending.body).then(function () {
        say("已写入方案，正在刷新…");
        // the page comes back where the planner was, not re-fitted on the plan's grids
        var c = map.getCenter();
        try { global.sessionStorage.setItem(viewKey, JSON.stringify([c.lat, c.lng, map.getZoom()])); } catch (e) { /* private mode */ }
        global.location.reload();
      }).catch(function (err) { say("提交失败（" + esc(err.message) + "）"); });
    }
    return {draw: draw, drawn: drawn};
  }

  global.geoGridPlan = {editor: editor, inPolygon: inPolygon};
})(window);
