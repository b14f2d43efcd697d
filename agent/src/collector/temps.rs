//! Temperatures: every hardware sensor that reports one (none in most VMs).

use lunasentri_schema::sample::TempSample;
use sysinfo::Components;

/// Refreshes the sensors and reads their temperatures in °C. Sensors that report no
/// value, or an impossible one, are left out.
pub fn read(components: &mut Components) -> Vec<TempSample> {
    if components.is_empty() {
        return Vec::new();
    }
    components.refresh(false);
    let mut out: Vec<TempSample> = components
        .iter()
        .filter_map(|c| {
            let celsius = f64::from(c.temperature()?);
            plausible(celsius).then(|| TempSample {
                label: c.label().to_owned(),
                celsius,
            })
        })
        .collect();
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// Whether a reading can be a real temperature of running hardware. Absent sensors
/// often read as 0, −273 or 255.
fn plausible(celsius: f64) -> bool {
    celsius.is_finite() && celsius > -60.0 && celsius < 200.0 && celsius != 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Placeholder readings of absent sensors are not reported as temperatures.
    #[test]
    fn implausible_readings_are_dropped() {
        assert!(plausible(42.5));
        assert!(!plausible(0.0));
        assert!(!plausible(-273.15));
        assert!(!plausible(255.0));
        assert!(!plausible(f64::NAN));
    }
}
