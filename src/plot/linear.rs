//! Linear-theory figures (issue 2): growth rates against degree, and `l*` against `beta`.
