//! Demo 3: CSDI imputation of multivariate time series (Tashiro et al. 2021): the series and
//! its CSV form, windows, masks, scores and baselines, the CSDI model, and the imputation the
//! page and `genlab impute` share.

pub mod baselines;
pub mod csdi;
pub mod csv_format;
pub mod data;
pub mod imputation;
pub mod masks;
pub mod metrics;
pub mod params;
pub mod windows;
