/** One line per event on stdout; journald adds the time and the unit. */
export function log(message: string): void {
    process.stdout.write(`${message}\n`);
}
