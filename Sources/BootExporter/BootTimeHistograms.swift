// SPDX-License-Identifier: AGPL-3.0-or-later

public import BootFSM

/// How long whole boots (to `ready`) and each completed phase took, counted into buckets whose
/// bounds are fractions and multiples of a budget: ``boundFractions``. The budget itself is always a
/// bound, so "within budget" is one bucket; and instances with the same budgets have the same bounds,
/// so their buckets add up across a fleet.
///
/// Durations are counted in whole milliseconds, as the boot journal keeps them: a count persisted and
/// read back is the count that was published.
public struct BootTimeHistograms: Sendable, Equatable {
    /// The bucket bounds, as fractions of the budget in 256ths: 1/256 to 1/2 by powers of two (a
    /// resolution that is the same everywhere on a log scale, for boots far inside their budget), 3/4,
    /// the budget, and 1.5 and 2 times it (boots past it, under `report-only`). Powers of two make
    /// each bound an exact decimal of a whole-second budget, so every instance writes the same `le`.
    public static let boundFractions: [UInt64] = [1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384, 512]
    static let fractionDenominator: UInt64 = 256

    /// The phases whose durations are counted: those with a budget.
    public static let countedPhases: [BootPhase] = [.initializing, .migrating, .recovering, .readOnlyRecovery, .forceRecovery, .warmingUp]

    /// One histogram: the budget its bounds are fractions of, and its counts.
    public struct Histogram: Sendable, Equatable {
        /// The budget the bounds are fractions of, in whole milliseconds.
        public var budgetMilliseconds: UInt64
        /// Observations per bucket, not cumulative: one per bound, then one for those past every bound.
        public var bucketCounts: [UInt64]
        /// The sum of the observations, in milliseconds.
        public var sumMilliseconds: UInt64

        /// An empty histogram, or one with these counts (`nil` if there are not one per bound and one more).
        public init?(budgetMilliseconds: UInt64, bucketCounts: [UInt64]? = nil, sumMilliseconds: UInt64 = 0) {
            let counts = bucketCounts ?? Array(repeating: 0, count: BootTimeHistograms.boundFractions.count + 1)
            guard counts.count == BootTimeHistograms.boundFractions.count + 1 else { return nil }
            self.budgetMilliseconds = budgetMilliseconds
            self.bucketCounts = counts
            self.sumMilliseconds = sumMilliseconds
        }

        /// How many observations there are.
        public var count: UInt64 { bucketCounts.reduce(0, &+) }

        /// The upper bound of each bucket but the last (which has none).
        public var bounds: [Duration] {
            BootTimeHistograms.boundFractions.map {
                .milliseconds(Int64(clamping: budgetMilliseconds)) * Int($0) / Int(BootTimeHistograms.fractionDenominator)
            }
        }

        /// Counts `milliseconds` in the first bucket whose bound it does not pass.
        public mutating func observe(milliseconds: UInt64) {
            // ms × 256 ≤ budget × fraction, in integers: the comparison is exact.
            let scaled = milliseconds.multipliedReportingOverflow(by: BootTimeHistograms.fractionDenominator)
            let index = scaled.overflow ? nil : BootTimeHistograms.boundFractions.firstIndex {
                let bound = budgetMilliseconds.multipliedReportingOverflow(by: $0)
                return bound.overflow || scaled.partialValue <= bound.partialValue
            }
            bucketCounts[index ?? bucketCounts.count - 1] &+= 1
            sumMilliseconds &+= milliseconds
        }
    }

    /// What one change of phase adds: a completed phase, a whole boot.
    public enum Observation: Sendable, Equatable {
        /// A boot that reached `ready`, and how long it took.
        case boot(milliseconds: UInt64)
        /// A phase that ended by going on (to the next phase or `ready`, not by failing), and how long it took.
        case phase(BootPhase, milliseconds: UInt64)
    }

    /// Whole boots that reached `ready`.
    public var boot: Histogram
    /// Each phase of ``countedPhases`` that completed.
    public var phases: [BootPhase: Histogram]

    /// Empty histograms whose bounds come from `budgets`.
    public init(budgets: BootBudgets) {
        boot = Histogram(budgetMilliseconds: budgets.totalBudget.milliseconds)!
        phases = [:]
        for phase in Self.countedPhases {
            phases[phase] = Histogram(budgetMilliseconds: (budgets.budget(for: phase) ?? .zero).milliseconds)!
        }
    }

    /// What `change` adds: the phase it leaves when it goes on rather than failing or stopping, and
    /// the whole boot when it reaches `ready`.
    public static func observations(of change: PhaseChange) -> [Observation] {
        var observations: [Observation] = []
        if countedPhases.contains(change.from), change.to != .failed, change.to != .shuttingDown {
            observations.append(.phase(change.from, milliseconds: change.duration.milliseconds))
        }
        if change.to == .ready {
            observations.append(.boot(milliseconds: change.totalElapsed.milliseconds))
        }
        return observations
    }

    /// Counts `observation`.
    public mutating func add(_ observation: Observation) {
        switch observation {
        case .boot(let milliseconds): boot.observe(milliseconds: milliseconds)
        case .phase(let phase, let milliseconds): phases[phase]?.observe(milliseconds: milliseconds)
        }
    }

    /// These histograms, those still empty with bounds from `budgets` instead: a histogram that has
    /// counted something keeps its bounds for good, or its counts would move between buckets.
    public func following(_ budgets: BootBudgets) -> BootTimeHistograms {
        let fresh = BootTimeHistograms(budgets: budgets)
        var result = self
        if boot.count == 0 { result.boot = fresh.boot }
        for phase in Self.countedPhases where (phases[phase]?.count ?? 0) == 0 { result.phases[phase] = fresh.phases[phase] }
        return result
    }

    /// The names (`boot`, or a phase's) of the histograms whose bounds are not those of `budgets`.
    public func keptBounds(differingFrom budgets: BootBudgets) -> [String] {
        let fresh = BootTimeHistograms(budgets: budgets)
        return (boot.budgetMilliseconds != fresh.boot.budgetMilliseconds ? ["boot"] : [])
            + Self.countedPhases.filter { phases[$0]?.budgetMilliseconds != fresh.phases[$0]?.budgetMilliseconds }.map(\.name)
    }
}
