import { describe, expect, it } from 'vitest';
import { escapeXml, logTicks, renderPlotSvg, sweepSeries } from '../src/plot-svg.js';
import { withRatios } from '../src/records.js';
import { record } from './helpers.js';
import { xmlProblems } from './xml-check.js';

describe('sweep plot (SVG)', () => {
  it('the checker itself catches malformed XML', () => {
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><a x="1" x="2"/></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg/><svg/>')).not.toEqual([]);
    expect(xmlProblems('<?xml version="1.0"?>\n<svg a="1"><g><text>a &amp; b</text></g></svg>')).toEqual([]);
  });

  it('picks log ticks by decade, with 2 and 5 over a few decades', () => {
    expect(logTicks(0.9, 1100)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(logTicks(1, 1e6)).toEqual([1, 10, 100, 1000, 1e4, 1e5, 1e6]);
    expect(logTicks(3, 9)).toEqual([3, 5, 7]);
  });

  it('draws a well-formed SVG with one series per implementation, threads and direction', () => {
    const rs = withRatios(
      [8, 16, 32].flatMap((hw) => {
        const gflop = 2 * 128 * 128 * 9 * hw * hw * 1e-9;
        return [
          record({ impl: 'dcnv2-cpu', shape: `1x128x${hw}x${hw}->128`, gflop, median_ms: hw, min_ms: hw * 0.9, max_ms: hw * 1.2, dims: { ...record().dims, h: hw, w: hw } }),
          record({ impl: 'ort-web', shape: `1x128x${hw}x${hw}->128`, gflop, median_ms: hw / 5, min_ms: hw / 6, max_ms: hw / 4, dims: { ...record().dims, h: hw, w: hw } }),
          record({ impl: 'dcnv2-cpu', direction: 'fwdbwd', shape: `1x128x${hw}x${hw}->128`, gflop: 3 * gflop, median_ms: 3 * hw, min_ms: 2 * hw, max_ms: 4 * hw, dims: { ...record().dims, h: hw, w: hw } }),
        ];
      }),
    );
    const series = sweepSeries(rs, (r) => String(r.dims.h), ['dcnv2-cpu', 'ort-web']);
    expect(series.map((s) => s.name)).toEqual(['dcnv2-cpu 1t', 'ort-web 1t', 'dcnv2-cpu 1t fwd+bwd']);
    expect(series[2].dashed).toBe(true);
    // Forward + backward points sit at the problem's forward work, next to their forward points.
    expect(series[2].points.map((p) => p.x)).toEqual(series[0].points.map((p) => p.x));
    const svg = renderPlotSvg({ title: 'time <vs> work & more', subtitle: ['machine "x"'], xLabel: 'GFLOP', yLabel: 'ms', series });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('time &lt;vs&gt; work &amp; more');
    expect((svg.match(/<path /g) ?? []).length).toBe(3);
    expect((svg.match(/<circle /g) ?? []).length).toBe(9 + 3); // points + legend markers
    expect(svg).toContain('stroke-dasharray="7,4"');
  });

  it('draws an empty chart when there is no data, still well-formed', () => {
    const svg = renderPlotSvg({ title: 't', subtitle: [], xLabel: 'x', yLabel: 'y', series: [] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('no data');
  });

  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
