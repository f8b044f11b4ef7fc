/**
 * How rows and skipped parts of the deform_roi_pool suites are labelled: `roi-<suite>` (roi-golden,
 * roi-fuzz, ...), so that a run of both ops, its JSON report and a filter on `row.suite` never confuse
 * a RoI pooling row with the convolution's row of the same suite and case name.
 */
import type { SuiteName } from '../types.js';

export function roiSuiteLabel(suite: SuiteName): string {
  return `roi-${suite}`;
}
