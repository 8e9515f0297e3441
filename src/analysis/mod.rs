//! Harmonic power, growth-rate fits, cluster detection, energy (issues 3 and 5).
