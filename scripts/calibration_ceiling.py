#!/usr/bin/env python3
"""An interpolation baseline in the ifmap density D alone for a calibration's validation points.

    scripts/calibration_ceiling.py calib.json [calib.json ...]

For every layer the fit points are averaged per target density (over seeds and zero patterns,
at their measured density), and the validation points are predicted by linear interpolation
between those means: a model-free function of D that follows any curvature of the sweep,
blind to the zero pattern and the seed. Printed beside the calibrated write-back form's
figures, in the validation table's terms (mean absolute error per layer, averaged over layers;
worst layer; mean absolute error of the network total per scenario). Where it misses a target
by far, so will any line or curve in D (docs/calibration.md). Standard library only.
"""
import json
import sys
from collections import defaultdict


def interp(x, xs, ys):
    if x <= xs[0]:
        i = 0
    elif x >= xs[-1]:
        i = len(xs) - 2
    else:
        i = max(k for k in range(len(xs) - 1) if xs[k] <= x)
    if len(xs) == 1 or xs[i + 1] == xs[i]:
        return ys[i]
    t = (x - xs[i]) / (xs[i + 1] - xs[i])
    return ys[i] + t * (ys[i + 1] - ys[i])


def mean(v):
    return sum(v) / len(v)


def ceiling(calib, key):
    per_layer = defaultdict(lambda: defaultdict(list))  # set -> layer -> |err| %
    net = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))  # set -> scenario -> pred, sim
    for layer in calib["layers"]:
        by = defaultdict(list)
        for p in layer["points"]:
            by[p["target_density"]].append((p["density"], p[key]))
        targets = sorted(by)
        xs = [mean([d for d, _ in by[t]]) for t in targets]
        ys = [mean([y for _, y in by[t]]) for t in targets]
        for p in layer["validation_points"]:
            if p["set"] == "traces":
                continue
            pred = interp(p["density"], xs, ys)
            per_layer[p["set"]][layer["index"]].append(abs(pred / p[key] - 1) * 100)
            scenario = (p.get("target_density"), p.get("pattern"), p.get("seed"))
            net[p["set"]][scenario][0] += pred
            net[p["set"]][scenario][1] += p[key]
    out = {}
    for s, layers in per_layer.items():
        maes = [mean(v) for v in layers.values()]
        out[s] = (mean(maes), max(maes), mean([abs(a / b - 1) * 100 for a, b in net[s].values()]))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| calibration | set | quantity | write-back form: layer mean / worst / network | "
          "interpolation in D: layer mean / worst / network |")
    print("|---|---|---|---|---|")
    for path in sys.argv[1:]:
        c = json.load(open(path))
        name = "%s, %s, %s, width %s" % (c["network"], c["arch"].get("name", "?") if isinstance(
            c.get("arch"), dict) else "?", c["zero_mode"], c.get("width_mult", "?"))
        for quantity, key in (("energy", "energy_pj"), ("cycles", "cycles")):
            best = ceiling(c, key)
            for s in sorted(best):
                form = c["validation"]["sets"][s][c["form"]][quantity]
                print("| %s | %s | %s | %.2f / %.2f / %.2f %% | %.2f / %.2f / %.2f %% |" % (
                    name, s, quantity, form["layer_mae_pct_mean"], form["layer_mae_pct_max"],
                    form["network_mae_pct"], best[s][0], best[s][1], best[s][2]))


main()
