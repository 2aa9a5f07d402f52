#!/usr/bin/env python3
"""analyze: how well a writer kept to its write budget, from a capsim per-second log.

    python3 bench/analyze.py cap.jsonl --budget-table 500 [--budget-gsi byCustomer=250 ...] [--svg out.svg] [--json]
    python3 bench/analyze.py cap.jsonl --percent 50          # budgets = 50% of each resource's capacity in the log

For the table and each GSI with a budget:
- steady-state share: mean consumed WCU/s over the steady seconds, divided by the budget. Steady seconds start at the
  first second that reaches >= 80% of the budget (ramp-up excluded) and end before the last second with writes (a
  partial second of work), so the idle tail and the log's final partial second are excluded too. A resource that
  never reaches 80% of its own budget (the table when a GSI is the limit) is measured over the window of the one
  that did (`steady_window_of`);
- worst sliding 5-second window: max over every 5 consecutive seconds of consumed / (5 x budget), over the whole
  log (ramp included); must not exceed 1.0;
- throttles: PTEE calls, throttled items and unprocessed items.
Exit status: 0, or 1 when a worst window exceeds 1.0 (with --check), 2 on bad input.
"""

import argparse
import json
import sys

WINDOW = 5
RAMP = 0.8


def load(path):
    config = None
    seconds = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
            except ValueError:
                print('analyze: %s line %d is not JSON (two writers?); skipped' % (path, n), file=sys.stderr)
                continue
            if d.get('type') == 'config':
                config = d
            elif d.get('type') == 'second':
                seconds.append(d)
    seconds.sort(key=lambda d: d['second'])
    return config or {}, seconds


def resource_series(seconds, name):
    if name == 'table':
        return [d['table'] for d in seconds]
    return [d['gsi'].get(name, {}) for d in seconds]


def steady_window(wcu, budget, seconds):
    """[start, end) of the steady seconds of one resource, or None: from the first second at >= 80% of the budget
    to before the last second with writes (a partial second of work); the idle tail and partial lines are out."""
    n = len(wcu)
    partial = [bool(d.get('partial')) for d in seconds]
    active = [i for i in range(n) if wcu[i] > 0 or seconds[i].get('calls', 0) > 0]
    end = active[-1] if active else -1          # exclusive: the last active second is partial work
    while end > 0 and partial[end - 1]:
        end -= 1
    start = next((i for i in range(n) if budget > 0 and wcu[i] >= RAMP * budget), None)
    if start is None or start >= end:
        return None
    return start, end


def analyze_resource(name, budget, seconds, fallback=None):
    """fallback: (start, end, resource) of the binding resource's steady window, used when this resource never
    reaches 80% of its own budget (e.g. the table when a GSI is the limit)."""
    rows = resource_series(seconds, name)
    wcu = [r.get('wcu', 0.0) for r in rows]
    n = len(wcu)
    out = {'resource': name, 'budget': budget, 'seconds_logged': n,
           'consumed_total': round(sum(wcu), 3),
           'throttled_calls': sum(int(r.get('throttled_calls', 0)) for r in rows),
           'throttled_items': sum(int(r.get('throttled_items', 0)) for r in rows),
           'unprocessed_items': sum(int(r.get('unprocessed', 0)) for r in rows)}
    win = steady_window(wcu, budget, seconds)
    window_of = name
    if win is None and fallback is not None:
        win, window_of = fallback[:2], fallback[2]
    if win is None:
        out.update({'steady_from': None, 'steady_to': None, 'steady_seconds': 0, 'steady_mean': None,
                    'steady_share': None, 'steady_window_of': None,
                    'note': 'never reached %d%% of the budget in a full second' % int(RAMP * 100)})
    else:
        start, end = win
        steady = wcu[start:end]
        mean = sum(steady) / len(steady)
        out.update({'steady_from': seconds[start]['second'], 'steady_to': seconds[end - 1]['second'],
                    'steady_seconds': len(steady), 'steady_mean': round(mean, 3),
                    'steady_share': round(mean / budget, 4) if budget else None,
                    'steady_min_share': round(min(steady) / budget, 4) if budget else None,
                    'steady_max_share': round(max(steady) / budget, 4) if budget else None,
                    'steady_window_of': window_of})
        if window_of != name:
            out['note'] = 'never reached %d%% of its budget; steady window of %s' % (int(RAMP * 100), window_of)
    worst, at = 0.0, None
    if budget > 0:
        for i in range(0, max(1, n - WINDOW + 1)):
            s = sum(wcu[i:i + WINDOW])
            r = s / (WINDOW * budget)
            if r > worst:
                worst, at = r, seconds[i]['second'] if i < n else None
    out['worst_5s_ratio'] = round(worst, 4)
    out['worst_5s_from'] = at
    out['worst_5s_ok'] = worst <= 1.0
    out['worst_1s_ratio'] = round(max(wcu) / budget, 4) if (budget and wcu) else None
    return out


def per_second_table(seconds, names, budgets):
    rows = []
    for d in seconds:
        row = {'second': d['second'], 'calls': d.get('calls', 0), 'ptee': d.get('ptee', 0),
               'table': d['table'].get('wcu', 0.0), 'table_budget': budgets.get('table'),
               'table_limit': d['table'].get('limit')}
        for g in names:
            if g == 'table':
                continue
            r = d['gsi'].get(g, {})
            row[g] = r.get('wcu', 0.0)
            row[g + '_budget'] = budgets.get(g)
        if d.get('partial'):
            row['partial'] = True
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------------------------
# SVG (hand-written: one panel per resource, consumed WCU/s, budget and capacity lines, throttle marks)
# ---------------------------------------------------------------------------------------------------------------

def nice_step(span, target=6):
    if span <= 0:
        return 1
    raw = span / target
    mag = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 10 ** -len(str(int(1 / raw)))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def fmt(v):
    if v >= 1000 and v % 1000 == 0:
        return '%dk' % (v // 1000)
    if v >= 1000:
        return '%.1fk' % (v / 1000)
    return ('%d' % v) if v == int(v) else ('%.1f' % v)


def esc(s):
    return str(s).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def svg_plot(seconds, names, budgets, results, title):
    W, PH, ML, MR, MT, MB = 900, 260, 70, 30, 62, 72
    H = MT + len(names) * (PH + MB) + 10
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="Helvetica, Arial, sans-serif" font-size="12">' % (W, H, W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (ML, esc(title))]
    xs = [d['second'] for d in seconds]
    x0, x1 = (min(xs), max(xs) + 1) if xs else (0, 1)
    pw = W - ML - MR
    for k, name in enumerate(names):
        top = MT + k * (PH + MB)
        rows = resource_series(seconds, name)
        wcu = [r.get('wcu', 0.0) for r in rows]
        limits = [r.get('limit') for r in rows]
        budget = budgets.get(name) or 0
        ymax = max([budget * 1.25] + wcu + [l for l in limits if l is not None and l < 4 * max(budget, 1)] + [1])
        step = nice_step(ymax)
        ymax = step * (int(ymax / step) + 1)

        def X(s):
            return ML + (s - x0) / (x1 - x0) * pw

        def Y(v):
            return top + PH - min(v, ymax) / ymax * PH

        res = results.get(name, {})
        label = '%s: consumed WCU/s' % name
        if res.get('steady_share') is not None:
            label += ' (steady %.1f%% of budget, worst 5 s window %.3f)' % (100 * res['steady_share'],
                                                                              res['worst_5s_ratio'])
        out.append('<text x="%d" y="%d" font-size="13">%s</text>' % (ML, top - 8, esc(label)))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>' % (ML, top, pw, PH))
        v = 0.0
        while v <= ymax + 1e-9:
            y = Y(v)
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (ML, y, ML + pw, y))
            out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (ML - 6, y + 4, fmt(v)))
            v += step
        xstep = max(1, int(round(nice_step(x1 - x0, 10))))
        s = (x0 // xstep) * xstep
        while s <= x1:
            if s >= x0:
                out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888"/>' % (X(s), top + PH, X(s), top + PH + 4))
                out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (X(s), top + PH + 17, s))
            s += xstep
        out.append('<text x="%d" y="%d" text-anchor="middle">seconds since capsim start</text>'
                   % (ML + pw // 2, top + PH + 33))
        # capacity (limit) as a grey step line, budget dashed blue, consumed as a polyline
        if any(l is not None for l in limits):
            pts = []
            for d, l in zip(seconds, limits):
                if l is not None:
                    pts.append('%.1f,%.1f %.1f,%.1f' % (X(d['second']), Y(l), X(d['second'] + 1), Y(l)))
            out.append('<polyline fill="none" stroke="#999" stroke-width="1.5" points="%s"/>' % ' '.join(pts))
        if budget:
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#1f5fbf" stroke-dasharray="6,4" '
                       'stroke-width="1.5"/>' % (ML, Y(budget), ML + pw, Y(budget)))
        if res.get('steady_from') is not None:
            a, b = X(res['steady_from']), X(res['steady_to'] + 1)
            out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#2a9d2a" opacity="0.06"/>'
                       % (a, top, max(0.5, b - a), PH))
        pts = ' '.join('%.1f,%.1f' % (X(d['second'] + 0.5), Y(w)) for d, w in zip(seconds, wcu))
        out.append('<polyline fill="none" stroke="#d2691e" stroke-width="1.8" points="%s"/>' % pts)
        for d, r in zip(seconds, rows):
            if r.get('throttled_calls', 0) or r.get('throttled_items', 0):
                xx = X(d['second'] + 0.5)
                out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="red" stroke-width="2"/>'
                           % (xx, top + PH - 8, xx, top + PH))
        # legend
        lx, ly = ML + pw - 330, top + 14
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d2691e" stroke-width="2"/>' % (lx, ly, lx + 20, ly))
        out.append('<text x="%d" y="%d">consumed</text>' % (lx + 24, ly + 4))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1f5fbf" stroke-dasharray="6,4" stroke-width="1.5"/>'
                   % (lx + 90, ly, lx + 110, ly))
        out.append('<text x="%d" y="%d">budget %s</text>' % (lx + 114, ly + 4, fmt(budget)))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999" stroke-width="1.5"/>' % (lx + 195, ly, lx + 215, ly))
        out.append('<text x="%d" y="%d">capacity</text>' % (lx + 219, ly + 4))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="red" stroke-width="2"/>' % (lx + 280, ly - 6, lx + 280, ly + 4))
        out.append('<text x="%d" y="%d">throttled</text>' % (lx + 285, ly + 4))
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def main():
    p = argparse.ArgumentParser(description='Budget adherence from a capsim log.')
    p.add_argument('log')
    p.add_argument('--budget-table', type=float, help='the table\'s write budget, WCU/s')
    p.add_argument('--budget-gsi', action='append', default=[], metavar='NAME=B', help='a GSI\'s budget (repeatable)')
    p.add_argument('--percent', type=float,
                   help='budgets = this %% of each resource\'s capacity in the log (for those not given)')
    p.add_argument('--svg', help='write a line plot here')
    p.add_argument('--json', action='store_true', help='JSON output')
    p.add_argument('--check', action='store_true', help='exit 1 when a worst 5-second window exceeds 1.0')
    p.add_argument('--rows', action='store_true', help='with the text output, print every second')
    a = p.parse_args()
    config, seconds = load(a.log)
    if not seconds:
        print('analyze: no per-second lines in %s' % a.log, file=sys.stderr)
        sys.exit(2)
    budgets = {}
    if a.budget_table is not None:
        budgets['table'] = a.budget_table
    for spec in a.budget_gsi:
        name, _, b = spec.partition('=')
        if not b:
            p.error('--budget-gsi wants NAME=B')
        budgets[name] = float(b)
    if a.percent is not None:
        if 'table' not in budgets and config.get('write_capacity'):
            budgets['table'] = config['write_capacity'] * a.percent / 100
        for g, gc in (config.get('gsi') or {}).items():
            if g not in budgets and gc.get('write_capacity'):
                budgets[g] = gc['write_capacity'] * a.percent / 100
    if 'table' not in budgets:
        p.error('give --budget-table (or --percent with a log whose config has the capacity)')
    gsi_names = sorted(set(seconds[0].get('gsi', {})))
    for g in budgets:
        if g != 'table' and g not in gsi_names:
            p.error('no GSI %r in the log (has: %s)' % (g, ', '.join(gsi_names) or 'none'))
    names = ['table'] + [g for g in gsi_names if g in budgets]
    # the binding resource: the one whose steady window starts first (it reached 80% of its budget first)
    fallback = None
    for n_ in names:
        w = steady_window([r.get('wcu', 0.0) for r in resource_series(seconds, n_)], budgets[n_], seconds)
        if w is not None and (fallback is None or w[0] < fallback[0]):
            fallback = (w[0], w[1], n_)
    results = {n: analyze_resource(n, budgets[n], seconds, fallback) for n in names}
    report = {
        'log': a.log, 'mode': config.get('mode'), 'capacity': config.get('write_capacity'),
        'seconds': len(seconds),
        'ptee_calls': sum(d.get('ptee', 0) for d in seconds),
        'partial_calls': sum(d.get('partial_calls', 0) for d in seconds),
        'calls': sum(d.get('calls', 0) for d in seconds),
        'resources': [results[n] for n in names],
        'ok': all(results[n]['worst_5s_ok'] for n in names),
    }
    if a.svg:
        with open(a.svg, 'w') as f:
            f.write(svg_plot(seconds, names, budgets, results,
                             'capsim: %s (%s)' % (a.log.rsplit('/', 1)[-1], config.get('mode', '?'))))
    if a.json:
        report['per_second'] = per_second_table(seconds, names, budgets)
        print(json.dumps(report, indent=1))
    else:
        print('log %s: %d seconds, %d calls, %d PTEE, %d partial calls, mode %s' % (
            a.log, len(seconds), report['calls'], report['ptee_calls'], report['partial_calls'], report['mode']))
        for n in names:
            r = results[n]
            share = ('%.1f%%' % (100 * r['steady_share'])) if r['steady_share'] is not None else 'n/a (%s)' % r.get('note')
            if r.get('steady_window_of') not in (None, n):
                share += ' (window of %s)' % r['steady_window_of']
            print('  %-16s budget %8s  steady %s over s%s..s%s (%d s, mean %s)  worst 5 s window %.4f %s  '
                  'throttled calls %d items %d unprocessed %d' % (
                      n, fmt(r['budget']), share, r['steady_from'], r['steady_to'], r['steady_seconds'],
                      r['steady_mean'], r['worst_5s_ratio'], 'ok' if r['worst_5s_ok'] else 'EXCEEDED',
                      r['throttled_calls'], r['throttled_items'], r['unprocessed_items']))
        if a.rows:
            cols = ['second', 'table'] + [g for g in names if g != 'table']
            print('  ' + '  '.join('%10s' % c for c in cols + ['budget', 'ptee']))
            for row in per_second_table(seconds, names, budgets):
                vals = [row['second']] + [row[c] for c in cols[1:]] + [row['table_budget'], row['ptee']]
                print('  ' + '  '.join('%10s' % (fmt(v) if isinstance(v, float) else v) for v in vals)
                      + ('  partial' if row.get('partial') else ''))
    if a.check and not report['ok']:
        sys.exit(1)


if __name__ == '__main__':
    main()
