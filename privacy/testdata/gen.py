#!/usr/bin/env python3
"""Independent reference values for nnc's DP-SGD accountant (privacy package).

The Go accountant computes A_alpha of the sampled Gaussian mechanism with
Mironov, Talwar and Zhang's (2019) closed-form series, as Opacus does. This
script computes the same A_alpha from its definition instead, by numerical
integration with mpmath:

    A_alpha = E_{z ~ N(0, sigma^2)} [ ((1 - q) + q exp((2z - 1) / (2 sigma^2)))^alpha ]

then RDP(alpha) = steps * log(A_alpha) / (alpha - 1) and, over Opacus's
default orders, epsilon by Balle et al. 2020's conversion and by the classic
one. Run with /usr/bin/python3 (mpmath); it writes accountant.json beside it.
"""
import json
import os

import mpmath as mp

mp.mp.dps = 30
ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
CASES = [  # q, sigma, steps, delta
    (0.004, 1.3, 3750, 1e-5),  # Opacus's MNIST example: 15 epochs at rate 0.004
    (256 / 60000, 1.1, 60 * 235, 1e-5),
    (0.01, 1.0, 1000, 1e-5),
    (0.02, 0.8, 500, 1e-6),
    (0.1, 2.0, 100, 1e-5),
    (0.05, 4.0, 2000, 1e-5),
]


def log_a(q, sigma, alpha):
    q, sigma, alpha = mp.mpf(q), mp.mpf(sigma), mp.mpf(alpha)

    def f(z):
        pdf = mp.exp(-z * z / (2 * sigma * sigma)) / (sigma * mp.sqrt(2 * mp.pi))
        return pdf * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * sigma * sigma))) ** alpha

    # The integrand's mass sits near 0 and, for large alpha, near alpha.
    pts = sorted({-40 * sigma, -10 * sigma, mp.mpf(0), mp.mpf(0.5), mp.mpf(1), alpha / 2, alpha, alpha + 10 * sigma, 2 * alpha + 40 * sigma})
    return mp.log(mp.quad(f, [-mp.inf] + pts + [mp.inf]))


def main():
    out = []
    for q, sigma, steps, delta in CASES:
        rdp = [float(steps * log_a(q, sigma, a) / (a - 1)) for a in ORDERS]
        balle = [r + mp.log((a - 1) / a) - (mp.log(delta) + mp.log(a)) / (a - 1) for r, a in zip(rdp, ORDERS)]
        classic = [r - mp.log(delta) / (a - 1) for r, a in zip(rdp, ORDERS)]
        out.append({
            "q": q, "sigma": sigma, "steps": steps, "delta": delta,
            "rdp": rdp,
            "epsilon": float(min(balle)),
            "classic_epsilon": float(min(classic)),
        })
        print(q, sigma, steps, delta, out[-1]["epsilon"], out[-1]["classic_epsilon"], flush=True)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "accountant.json")
    with open(path, "w") as fh:
        json.dump({"orders": ORDERS, "cases": out}, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
