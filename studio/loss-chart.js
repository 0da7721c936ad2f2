// The training loss per optimizer step, and the validation loss where it was evaluated, drawn with
// uPlot (loaded as a classic script: the global uPlot). The container's data-points attribute is the
// number of steps drawn, for whoever watches the curve grow (the end-to-end test).
import { element } from "./elements.js";

const HEIGHT_PIXELS = 300;

export function createLossChart(label) {
  const container = element("div", { class: "loss-chart", role: "img", "aria-label": label, "data-points": "0" });
  const steps = [];
  const trainLoss = [];
  const validationLoss = [];
  let plot;
  let redrawPending = false;

  const options = (width) => ({
    width,
    height: HEIGHT_PIXELS,
    scales: { x: { time: false } },
    series: [
      { label: "step" },
      { label: "train loss", stroke: "#2563eb", width: 2 },
      // evaluated every evalInterval steps only: joined across the steps between, with a point at each
      { label: "validation loss", stroke: "#dc2626", width: 2, spanGaps: true, points: { show: true, size: 6, fill: "#dc2626" } },
    ],
    // steps are whole numbers
    axes: [{ label: "step", incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000] }, { label: "loss" }],
  });

  // uPlot needs a width: the chart is made when its page is first shown, and follows the page's width
  new ResizeObserver(() => {
    const width = container.clientWidth;
    if (width === 0) return;
    if (plot === undefined) plot = new uPlot(options(width), [steps, trainLoss, validationLoss], container);
    else plot.setSize({ width, height: HEIGHT_PIXELS });
  }).observe(container);

  function redraw() {
    if (redrawPending) return;
    redrawPending = true;
    // one draw per frame, however many steps arrived (a replayed history comes all at once)
    requestAnimationFrame(() => {
      redrawPending = false;
      plot?.setData([steps, trainLoss, validationLoss]);
      container.dataset.points = String(steps.length);
    });
  }

  return {
    element: container,
    /** A step's losses ({ step, loss, validationLoss? }, a progress event's or a metrics record). */
    add({ step, loss, validationLoss: validation }) {
      // x must increase: a step at or before the last one (a run restarted from an earlier checkpoint) replaces what follows it
      while (steps.length > 0 && steps.at(-1) >= step) {
        steps.pop();
        trainLoss.pop();
        validationLoss.pop();
      }
      steps.push(step);
      trainLoss.push(loss);
      validationLoss.push(validation ?? null);
      redraw();
    },
    clear() {
      steps.length = 0;
      trainLoss.length = 0;
      validationLoss.length = 0;
      redraw();
    },
  };
}
