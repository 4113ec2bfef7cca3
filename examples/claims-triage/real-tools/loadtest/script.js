// k6 load script for the fixtures: a constant arrival rate against server.py.
// RATE (req/s), DURATION ("15s"), TARGET (http://127.0.0.1:PORT), SUMMARY (handleSummary JSON path).
import http from 'k6/http';
import { check } from 'k6';
import { Rate } from 'k6/metrics';

// 1 while the server reports the injected fault (X-Fault: active), else 0: gate reads it as the
// fault window marker in the --out json stream.
const faultActive = new Rate('fault_active');

export const options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 20),
      timeUnit: '1s',
      duration: __ENV.DURATION || '15s',
      preAllocatedVUs: Number(__ENV.VUS || 10),
      maxVUs: Number(__ENV.MAX_VUS || 50),
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

const inputTypes = ['claim', 'invoice', 'photo'];

export default function () {
  const type = inputTypes[Math.floor(Math.random() * inputTypes.length)];
  const res = http.get(`${__ENV.TARGET}/predict?input_type=${type}`, { tags: { input_type: type } });
  faultActive.add(res.headers['X-Fault'] === 'active');
  check(res, { 'status is 200': (r) => r.status === 200 });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY || 'summary.json']: JSON.stringify(data, null, 2) };
}
