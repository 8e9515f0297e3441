//! Circle, sphere and zonal bases behind one small trait (issue 4).
