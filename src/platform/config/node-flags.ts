/**
 * V8 flags every launcher of the service passes to Node: `npm start` and `npm run serve`, the
 * image's entrypoint, the `modelwatch` bin's shebang and `bench ingest`'s service process
 * (tested to be the same everywhere).
 *
 * `--max-semi-space-size=16`: a 32 MB young generation. V8 sizes it from the machine's memory and
 * grew it to 128 MB on a 24 GiB machine, where ingest keeps it full; at 30,000 events/s the
 * smaller one held the service's median RSS 60–80 MB lower for the same CPU; the cost is more
 * frequent scavenges, so a longer queue when ingest runs at the main thread's limit (measured:
 * src/collectors/README.md, "Young generation").
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
