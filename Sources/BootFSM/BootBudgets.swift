// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Time budgets for each boot phase and for the whole boot.
///
/// Align them with the Kubernetes `startupProbe` (`failureThreshold × periodSeconds`) so the machine
/// reports an exhausted budget before the kubelet kills the pod: see ``forKubernetes(startupProbeTotalSeconds:)``.
public struct BootBudgets: Sendable, Equatable {
    /// Longest `init` may take.
    public var initBudget: Duration
    /// Longest `migrate` may take.
    public var migrateBudget: Duration
    /// Longest any recovery phase (`recover`, `readonly_recovery`, `force_recovery`) may take.
    public var recoverBudget: Duration
    /// Longest `warmup` may take.
    public var warmupBudget: Duration
    /// Longest the whole boot, from `init` to `ready`, may take.
    public var totalBudget: Duration

    /// The seed's defaults: 30 s, 5 min, 30 min, 5 min, 1 h in all.
    public init(
        initBudget: Duration = .seconds(30),
        migrateBudget: Duration = .seconds(300),
        recoverBudget: Duration = .seconds(1800),
        warmupBudget: Duration = .seconds(300),
        totalBudget: Duration = .seconds(3600)
    ) {
        self.initBudget = initBudget
        self.migrateBudget = migrateBudget
        self.recoverBudget = recoverBudget
        self.warmupBudget = warmupBudget
        self.totalBudget = totalBudget
    }

    /// Budgets that fit a startup probe of `startupProbeTotalSeconds` seconds, with the seed's integer
    /// arithmetic: init 1/20, migrate 1/5, recover 3/5, warmup 1/10 (whole seconds, rounded down), total
    /// the whole. `forKubernetes(600)` is 30/120/360/60/600 s.
    public static func forKubernetes(startupProbeTotalSeconds total: UInt64) -> BootBudgets {
        // The seed computes `total * 3 / 5` in u64; multiplying first can overflow, dividing first
        // loses precision, so split the product to get the seed's result for every input.
        let recover = (total / 5) * 3 + (total % 5) * 3 / 5
        return BootBudgets(
            initBudget: .seconds(Int64(clamping: total / 20)),
            migrateBudget: .seconds(Int64(clamping: total / 5)),
            recoverBudget: .seconds(Int64(clamping: recover)),
            warmupBudget: .seconds(Int64(clamping: total / 10)),
            totalBudget: .seconds(Int64(clamping: total))
        )
    }

    /// The budget of `phase`, or `nil` for phases without one (everything that is not booting).
    public func budget(for phase: BootPhase) -> Duration? {
        switch phase {
        case .initializing: initBudget
        case .migrating: migrateBudget
        case .recovering, .readOnlyRecovery, .forceRecovery: recoverBudget
        case .warmingUp: warmupBudget
        case .uninitialized, .ready, .shuttingDown, .failed: nil
        }
    }
}

/// What the machine does when a budget runs out. Its raw value is its flag spelling.
public enum BudgetPolicy: String, Sendable, Hashable, CaseIterable {
    /// Fail the machine at the first observation after the deadline (the default).
    case failFast = "fail-fast"
    /// Only report: remaining time 0 and the exceeded flags set; the boot goes on.
    case reportOnly = "report-only"

    /// The flag spelling: `fail-fast`, `report-only`.
    public var name: String { rawValue }

    /// The policy whose name is `name`, or `nil`.
    public init?(name: String) {
        self.init(rawValue: name)
    }
}
