/* geo-grid plan page: draw a split line or a new boundary, preview its impact, then accept.
 *
 * geoGridPlan.editor(map, {planId, apiBase, crs}, {after: proposed grid layer}). A drawn line is
 * posted to {apiBase}/{planId}/split as {line, preview: true}; a polygon to .../reshape as
 * {boundary, code, preview: true} (code: the proposed grid the polygon starts in). The answer's
 * GeoJSON (a FeatureCollection, or {diff | features | grids}) is drawn as the impact; 接受 posts the
 * same body without preview and reloads the page to show the plan as it now stands.
 */
(function (global) {
  "use strict";
  var esc = function (v) { return global.geoGrid.esc(v); };

  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json",
      Accept: "application/json"}, body: JSON.stringify(body)}).then(function (r) {
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
    if (!data) return null;
    if (data.type === "FeatureCollection" || data.type === "Feature") return data;
    var keys = ["diff", "impact", "features", "grids", "after"];
    for (var i = 0; i < keys.length; i++) {
      var v = data[keys[i]];
      if (v && (v.type === "FeatureCollection" || v.type === "Feature")) return v;
      if (Array.isArray(v)) return {type: "FeatureCollection", features: v};
    }
    return null;
  }

  function summary(data) {
    if (!data || typeof data !== "object") return "";
    var parts = [];
    var s = data.summary || data.impact_summary || data;
    [["grids_changed", "变动网格"], ["changed", "变动网格"], ["households_moved", "调整户数"],
      ["addresses_moved", "调整地址"], ["people_moved", "涉及人员"]].forEach(function (kv) {
      if (typeof s[kv[0]] === "number") parts.push(kv[1] + " " + s[kv[0]]);
    });
    return parts.join("，");
  }

  function editor(map, opts, layers) {
    var drawn = new L.FeatureGroup().addTo(map), impact = null, pending = null;
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
      div.innerHTML = "<h3>方案调整</h3><div class='gg-plan-msg'>用左侧工具画一条分割线，或画出新的边界</div>";
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    box.addTo(map);
    function say(html) { div.querySelector(".gg-plan-msg").innerHTML = html; }

    function startCode(latlng) {
      var code = null;
      if (layers && layers.after) {
        layers.after.geo.eachLayer(function (l) {
          if (!code && l.getBounds && l.getBounds().contains(latlng)) code = l.feature.properties.code;
        });
      }
      return code;
    }

    map.on(L.Draw.Event.CREATED, function (ev) {
      drawn.clearLayers();
      if (impact) map.removeLayer(impact);
      drawn.addLayer(ev.layer);
      var geo = ev.layer.toGeoJSON().geometry, url, body;
      if (ev.layerType === "polyline") {
        url = opts.apiBase + "/" + encodeURIComponent(opts.planId) + "/split";
        body = {line: geo, crs: opts.crs};
      } else {
        url = opts.apiBase + "/" + encodeURIComponent(opts.planId) + "/reshape";
        body = {boundary: geo, code: startCode(ev.layer.getBounds().getCenter()), crs: opts.crs};
      }
      pending = {url: url, body: body};
      say("计算影响中…");
      post(url, L.extend({preview: true}, body)).then(function (data) {
        var fc = features(data);
        if (fc) {
          impact = L.geoJSON(fc, {style: {color: "#ff6f00", weight: 2, fillColor: "#ffca28",
            fillOpacity: 0.35}}).addTo(map);
        }
        say("影响：" + esc(summary(data) || "见地图橙色区域") +
          '<br><button type="button" class="gg-accept">接受</button> ' +
          '<button type="button" class="gg-cancel">放弃</button>');
        div.querySelector(".gg-accept").addEventListener("click", accept);
        div.querySelector(".gg-cancel").addEventListener("click", cancel);
      }).catch(function (err) { say("无法预览（" + esc(err.message) + "）"); });
    });

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
        global.location.reload();
      }).catch(function (err) { say("提交失败（" + esc(err.message) + "）"); });
    }
    return {draw: draw, drawn: drawn};
  }

  global.geoGridPlan = {editor: editor};
})(window);
