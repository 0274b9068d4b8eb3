/* Leaflet.draw in Chinese: every button title, action and hint it shows ("Draw a polyline",
 * Finish, Cancel, "Click to continue drawing line."...). Loaded after leaflet.draw.js and before
 * the page makes its draw control (the control reads L.drawLocal when it is built). Lengths keep
 * Leaflet.draw's metric readouts (m, km).
 */
(function (L) {
  "use strict";
  if (!L || !L.drawLocal) return;
  L.drawLocal = {
    draw: {
      toolbar: {
        actions: {title: "取消绘制", text: "取消"},
        finish: {title: "完成绘制", text: "完成"},
        undo: {title: "删除最后画的一个点", text: "删除最后一点"},
        buttons: {
          polyline: "画线（分割网格）",
          polygon: "画多边形（新的边界）",
          rectangle: "画矩形",
          circle: "画圆",
          marker: "放置标记",
          circlemarker: "放置圆点"
        }
      },
      handlers: {
        circle: {tooltip: {start: "按住并拖动鼠标画圆。"}, radius: "半径"},
        circlemarker: {tooltip: {start: "点击地图放置圆点。"}},
        marker: {tooltip: {start: "点击地图放置标记。"}},
        polygon: {tooltip: {start: "点击地图开始画边界。", cont: "点击继续画边界。",
          end: "点击第一个点闭合边界。"}},
        polyline: {error: "<strong>错误：</strong>边线不能自相交！",
          tooltip: {start: "点击地图开始画线。", cont: "点击继续画线。", end: "再次点击最后一个点结束画线。"}},
        rectangle: {tooltip: {start: "按住并拖动鼠标画矩形。"}},
        simpleshape: {tooltip: {end: "松开鼠标完成绘制。"}}
      }
    },
    edit: {
      toolbar: {
        actions: {
          save: {title: "保存修改", text: "保存"},
          cancel: {title: "取消编辑，放弃全部修改", text: "取消"},
          clearAll: {title: "清除全部图形", text: "全部清除"}
        },
        buttons: {edit: "编辑图形", editDisabled: "没有可编辑的图形", remove: "删除图形",
          removeDisabled: "没有可删除的图形"}
      },
      handlers: {
        edit: {tooltip: {text: "拖动控制点或标记来修改图形。", subtext: "点击“取消”撤销修改。"}},
        remove: {tooltip: {text: "点击图形将其删除。"}}
      }
    }
  };
})(window.L);
