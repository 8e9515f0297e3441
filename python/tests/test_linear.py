"""Linear theory against an independent route: scipy.special.ive for the Funk–Hecke eigenvalues
lambda_l = Gamma(d/2) (2/beta)^{(d-2)/2} I_{l+(d-2)/2}(beta) and the growth rates built from them."""

import math

import numpy as np
import pytest
from scipy.special import gammaln, ive

import attnflow


def log_lambda_scipy(l, beta, dim):
    nu = l + (dim - 2) / 2
    return gammaln(dim / 2) + (dim - 2) / 2 * math.log(2 / beta) + np.log(ive(nu, beta)) + beta


@pytest.mark.parametrize("dim,beta", [(2, 0.5), (2, 9.0), (3, 4.0), (3, 50.0), (5, 9.0), (16, 30.0)])
@pytest.mark.parametrize("model", ["usa", "sa"])
def test_rates_match_scipy_bessel(dim, beta, model):
    res = attnflow.linear(dim=dim, beta=beta, model=model, lmax=20)
    l = np.arange(21)
    ll = np.array([log_lambda_scipy(k, beta, dim) for k in l])
    err = np.abs(res.log_lambda - ll) / np.maximum(1, np.abs(ll))
    assert err.max() < 1e-11, err.max()
    lap = l * (l + dim - 2)
    rate = lap * np.exp(ll) / beta
    if model == "sa":
        rate = rate / np.exp(ll[0])
    np.testing.assert_allclose(res.rate, rate, rtol=1e-10)
    np.testing.assert_allclose(res.log_rate[1:], np.log(rate[1:]), rtol=0, atol=1e-10)
    assert np.isnan(res.log_rate[0]) and res.rate[0] == 0
    # The dominant degree is the argmax over l >= 1 of the independent rates.
    assert res.dominant == 1 + int(np.argmax(rate[1:]))
    assert attnflow.dominant_degree(beta, dim) == res.dominant


def test_scaled_time_divides_usa_rates_by_e_beta():
    a = attnflow.linear(dim=3, beta=9.0, time="physical", lmax=10)
    b = attnflow.linear(dim=3, beta=9.0, time="scaled", lmax=10)
    np.testing.assert_allclose(b.rate[1:], a.rate[1:] * math.exp(-9.0), rtol=1e-13)
    np.testing.assert_allclose(b.log_rate[1:], a.log_rate[1:] - 9.0, atol=1e-12)


def test_acceptance_line_and_dict_access():
    r = attnflow.linear(dim=3, beta=4)
    assert r.dominant == 2
    assert r["dominant"] == 2 and len(r["l"]) == 3 * 2 + 10 + 1
    assert isinstance(r.rate, np.ndarray) and r.rate.dtype == np.float64


def test_thresholds_are_crossings_of_neighbouring_rates():
    for dim in (2, 3, 6):
        th = attnflow.thresholds(dim, 4)
        assert np.all(np.diff(th) > 0)
        for k, b in enumerate(th, start=1):
            lk, lk1 = log_lambda_scipy(k, b, dim), log_lambda_scipy(k + 1, b, dim)
            gk = math.log(k * (k + dim - 2)) + lk
            gk1 = math.log((k + 1) * (k + dim - 1)) + lk1
            assert abs(gk - gk1) < 1e-9
            assert attnflow.dominant_degree(b * 0.999, dim) == k
            assert attnflow.dominant_degree(b * 1.001, dim) == k + 1


def test_dominant_degree_vectorised_and_funk_hecke():
    betas = np.array([[1.0, 9.0], [50.0, 200.0]])
    d = attnflow.dominant_degree(betas, 2)
    assert d.shape == (2, 2) and d.dtype == np.int64
    assert d[0, 1] == 4
    fh = attnflow.funk_hecke(4, 3.0, 6)
    np.testing.assert_allclose(fh, [log_lambda_scipy(l, 3.0, 4) for l in range(7)], atol=1e-12)
    np.testing.assert_allclose(attnflow.funk_hecke(4, 3.0, 6, log=False), np.exp(fh), rtol=1e-14)
