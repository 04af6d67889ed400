/**
 * Predictions of one model version for the drift window tests: 4,000 rows 1.8 s apart from \`t0\`
 * (four 30-minute windows), numerical features with a shift in the second hour, ties, ±0 and a
 * spread-out column, a text feature, numeric predictions and scores, and one row at \`t0\` + 3 h
 * holding a stored Infinity.
 */
import { models } from '../../src/models/index.js';
import { predictionJson } from './prediction-json.js';
import type { TestService } from './service.js';

const HOUR = 3_600_000;

export async function seedDriftWindows(
  service: TestService,
  key: { modelId: string; version: string },
  T0: number,
): Promise<void> {
  await service.use(models).registry.registerSeen([{ ...key, task: 'regression', firstSeen: T0 }]);
  const rows = Array.from({ length: 4000 }, (_, i) =>
    predictionJson({
      model_id: key.modelId,
      model_version: key.version,
      prediction_id: `${key.modelId}-${i}`,
      timestamp: T0 + i * 1800,
      features_num: {
        x: Math.sin(i) * 1e3 + (i >= 2000 ? 40 : 0),
        tie: (i % 9) - 4 + (i % 2 === 0 ? 0 : -0),
        zero: i % 3 === 0 ? -0 : i % 3,
        w: (i * 7919) % 4000,
      },
      features_str: { c: `c${i % 4}` },
      prediction: String(i / 10),
      prediction_num: i / 10,
      score: (i % 1000) / 1000,
    }),
  );
  await service.platform.db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
  await service.platform.db.client.command({
    query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction)
            VALUES ({model:String}, {version:String}, 'inf', fromUnixTimestamp64Milli(${T0 + 3 * HOUR}, 'UTC'), map('x', inf, 'w', 5), 'p')`,
    query_params: { model: key.modelId, version: key.version },
  });
}
