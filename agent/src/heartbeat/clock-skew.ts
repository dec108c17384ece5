import { describeSkew } from "./auth";

/**
 * The peer's clock as its signed messages show it (signature good, so the time
 * is the peer's own). An offset beyond the allowance is reported once when it
 * appears and once when it is gone, never per message.
 */
export class SkewWatch {
    private over = false;

    constructor(
        private readonly peer: string,
        private readonly limitMs: number,
        private readonly say: (line: string) => void,
        private readonly consequence: string,
    ) {}

    observe(skewMs: number): void {
        const over = Math.abs(skewMs) > this.limitMs;
        if (over && !this.over) {
            this.say(`${this.peer}'s clock is ${describeSkew(skewMs)} (more than the ${this.limitMs / 1000} s allowed for transit): ${this.consequence}; fix time sync on both hosts (timedatectl status; chrony or systemd-timesyncd)`);
        }
        if (!over && this.over) this.say(`${this.peer}'s clock agrees with this host's again (${describeSkew(skewMs)})`);
        this.over = over;
    }
}
