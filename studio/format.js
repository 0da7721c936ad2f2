// Numbers as the pages show them.

/** 1536 → "1.5 KiB": binary units, as the CLI's memory estimate prints them. */
export function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** 1234567 → "1.23 M". */
export function formatCount(count) {
  if (count >= 1e9) return `${(count / 1e9).toFixed(2)} B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(2)} M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(1)} k`;
  return String(count);
}

/** 3725 → "1 h 2 min", 75 → "1 min 15 s", 4.2 → "4 s". */
export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const whole = Math.round(seconds);
  if (whole >= 3600) return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  if (whole >= 60) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${whole} s`;
}

/** A loss to four significant digits. */
export function formatLoss(loss) {
  return loss === undefined || loss === null ? "–" : Number(loss).toPrecision(4);
}
