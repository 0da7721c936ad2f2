/** A plain SVG line chart of training loss per step (and validation loss where it was measured). */
export function lossPlotSvg(records: readonly { step: number; loss: number; validationLoss?: number }[]): string {
  const width = 640;
  const height = 360;
  const margin = { left: 56, right: 16, top: 24, bottom: 40 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const values = records.flatMap((record) => (record.validationLoss === undefined ? [record.loss] : [record.loss, record.validationLoss]));
  const maxStep = Math.max(1, ...records.map((record) => record.step));
  const maxLoss = Math.max(1e-9, ...values);
  const minLoss = Math.min(maxLoss, ...values, 0);
  const x = (step: number) => margin.left + (step / maxStep) * plotWidth;
  const y = (loss: number) => margin.top + (1 - (loss - minLoss) / (maxLoss - minLoss || 1)) * plotHeight;
  const line = records.map((record) => `${x(record.step).toFixed(1)},${y(record.loss).toFixed(1)}`).join(" ");
  const validation = records.filter((record) => record.validationLoss !== undefined);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => minLoss + fraction * (maxLoss - minLoss));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle">loss per trained token</text>`,
    ...ticks.map(
      (tick) =>
        `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#eee"/>` +
        `<text x="${margin.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick.toFixed(2)}</text>`,
    ),
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle">optimizer step (of ${maxStep})</text>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line}"/>`,
    ...validation.map((record) => `<circle cx="${x(record.step).toFixed(1)}" cy="${y(record.validationLoss!).toFixed(1)}" r="3" fill="#d62728"/>`),
    validation.length ? `<text x="${width - margin.right}" y="${margin.top + 12}" text-anchor="end" fill="#d62728">● validation</text>` : "",
    `</svg>`,
    "",
  ].join("\n");
}
