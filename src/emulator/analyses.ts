/**
 * URLs submitted for analysis (v3 `POST /urls`, v2 url/report with `scan=1`), shared by both APIs: an analysis
 * is `queued` until `analysisDelayMs` has passed since its submission, then `completed`, and from then on the
 * store knows the URL. Bounded like the store's aliases: the oldest submissions are forgotten first.
 */
const ANALYSIS_LIMIT = 100_000;

/** One submission. */
export interface Analysis {
  /** v3 analysis id: `u-<url sha256>-<epoch seconds>`, as VirusTotal forms them. */
  readonly id: string;
  readonly urlId: string;
  /** The URL in VirusTotal's canonical form. */
  readonly url: string;
  /** Submission time, epoch seconds (the analysis date). */
  readonly date: number;
  /** Epoch milliseconds from which it is completed. */
  readonly completesAt: number;
}

/** The submissions the emulator has received. */
export class Analyses {
  private readonly byId = new Map<string, Analysis>();
  private readonly byUrlId = new Map<string, Analysis>();

  constructor(private readonly delayMs: number) {}

  /** Records a submission; a URL whose analysis is still queued keeps that one (VirusTotal does not queue it twice). */
  submit(urlId: string, url: string, now: number): Analysis {
    const pending = this.byUrlId.get(urlId);
    if (pending !== undefined && pending.completesAt > now) return pending;
    const date = Math.floor(now / 1000);
    const analysis: Analysis = { id: `u-${urlId}-${date}`, urlId, url, date, completesAt: now + this.delayMs };
    if (this.byId.size >= ANALYSIS_LIMIT) {
      const oldest = this.byId.values().next();
      if (oldest.done !== true) {
        this.byId.delete(oldest.value.id);
        if (this.byUrlId.get(oldest.value.urlId) === oldest.value) this.byUrlId.delete(oldest.value.urlId);
      }
    }
    this.byId.set(analysis.id, analysis);
    this.byUrlId.set(urlId, analysis);
    return analysis;
  }

  get(id: string): Analysis | undefined {
    return this.byId.get(id);
  }

  /** The latest submission of a URL. */
  ofUrl(urlId: string): Analysis | undefined {
    return this.byUrlId.get(urlId);
  }
}
