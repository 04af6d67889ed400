/** A benchmark run by `modelwatch bench <name>`; prints its own figures as it goes. */
export interface Bench {
  summary: string;
  /** Options after the bench name, e.g. `--rows 1000000`. */
  run(args: string[]): Promise<void>;
}
