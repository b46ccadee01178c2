export interface Point {
  at: string;
  value: number;
}

const WIDTH = 560;
const HEIGHT = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

/**
 * A metric series as an inline SVG line chart, with the trigger's threshold as a dashed line and
 * the breaching run shaded: the evidence a rollback was decided on.
 */
export function MetricChart({ title, points, threshold, breach }: { title: string; points: readonly Point[]; threshold?: number; breach?: { start: string; end: string } }) {
  if (points.length === 0) return <p>No samples recorded for {title}.</p>;
  const times = points.map((p) => Date.parse(p.at));
  const values = points.map((p) => p.value);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1);
  const vMax = Math.max(...values, threshold ?? 0) * 1.1 || 1;
  const x = (t: number): number => PAD.left + ((t - t0) / (t1 - t0)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number): number => HEIGHT - PAD.bottom - (v / vMax) * (HEIGHT - PAD.top - PAD.bottom);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(Date.parse(p.at)).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const summary = `${title}: ${points.length} samples from ${points[0]?.at} to ${points.at(-1)?.at}, maximum ${Math.max(...values)}${threshold !== undefined ? `, threshold ${threshold}` : ''}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} width="100%">
        <title>{summary}</title>
        {breach ? <rect x={x(Date.parse(breach.start))} y={PAD.top} width={Math.max(2, x(Date.parse(breach.end)) - x(Date.parse(breach.start)))} height={HEIGHT - PAD.top - PAD.bottom} fill="#fde2e1" /> : null}
        <line x1={PAD.left} y1={HEIGHT - PAD.bottom} x2={WIDTH - PAD.right} y2={HEIGHT - PAD.bottom} stroke="#444" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={HEIGHT - PAD.bottom} stroke="#444" />
        <text x={PAD.left - 6} y={y(vMax / 1.1) + 4} textAnchor="end" fontSize="11" fill="#222">
          {(vMax / 1.1).toPrecision(3)}
        </text>
        <text x={PAD.left - 6} y={HEIGHT - PAD.bottom + 4} textAnchor="end" fontSize="11" fill="#222">
          0
        </text>
        <text x={PAD.left} y={HEIGHT - 8} fontSize="11" fill="#222">
          {new Date(t0).toISOString().slice(11, 16)} UTC
        </text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 8} textAnchor="end" fontSize="11" fill="#222">
          {new Date(t1).toISOString().slice(11, 16)} UTC
        </text>
        {threshold !== undefined ? <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(threshold)} y2={y(threshold)} stroke="#b3261e" strokeDasharray="6 4" /> : null}
        <path d={path} fill="none" stroke="#1a56a6" strokeWidth="2" />
        {points.map((p, i) => (
          <circle key={i} cx={x(Date.parse(p.at))} cy={y(p.value)} r="2.5" fill="#1a56a6" />
        ))}
      </svg>
      <figcaption>{summary}</figcaption>
    </figure>
  );
}
