// Command-line options of the bench scripts: `--name value` and bare `--flag`.
const argv = process.argv.slice(2);

/** The value after `--name`, or `fallback`. */
export function option(name, fallback) {
  return argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback;
}

/** Whether `--name` is given. */
export function flag(name) {
  return argv.includes(`--${name}`);
}
