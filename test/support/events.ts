/** Event builders for tests: valid SPEC 3.2 events with overridable fields. */
export function prediction(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    prediction_id: `p-${i}`,
    model_id: 'credit-risk',
    model_version: '3',
    timestamp: Date.UTC(2026, 10, 25, 10, 0, 0) + i * 1000,
    features: {
      age: 20 + (i % 50),
      income: 1000 * (i % 97),
      region: i % 2 === 0 ? 'north' : 'south',
      has_card: i % 3 === 0,
    },
    prediction: i % 2,
    score: (i % 100) / 100,
    latency_ms: 5 + (i % 20),
    status: i % 50 === 0 ? 'error' : 'ok',
    entity_id: `customer-${i % 1000}`,
    ...overrides,
  };
}

export function label(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    prediction_id: `p-${i}`,
    label: i % 3 === 0 ? 1 : 0,
    timestamp: Date.UTC(2026, 10, 26) + i,
    ...overrides,
  };
}

export function accessEvent(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: `a-${i}`,
    timestamp: Date.UTC(2026, 10, 25, 12) + i,
    principal: `analyst-${i % 3}`,
    action: 'read',
    resource_type: 'prediction',
    resource_id: `p-${i}`,
    model_id: 'credit-risk',
    entity_id: `customer-${i % 1000}`,
    purpose: 'support',
    outcome: i % 10 === 0 ? 'denied' : 'allowed',
    ...overrides,
  };
}
