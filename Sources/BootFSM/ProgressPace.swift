// SPDX-License-Identifier: AGPL-3.0-or-later

/// The recent pace of a phase's progress, which its ETA (``BootSnapshot/phaseETA``) comes from: the
/// progress made since a sample 30 to 60 s old, over the time since.
///
/// An average over the whole phase trails every change of pace, and a boot that slows down is the one
/// whose budget is at risk: the window is the one the alert backtest (`scripts/alert-backtest`) chose.
/// Silence no longer than the last gap between moves is not counted (reports in bursts leave the ETA
/// where the last burst put it); longer silence is, until progress resumes (a stall raises the ETA,
/// and then stops counting).
struct ProgressPace {
    typealias Sample = (time: Duration, fraction: Double)

    static let window = Duration.seconds(30)
    /// A step back larger than this (a count started over) starts the pace over; a smaller one (a total
    /// refined upwards) leaves it as it is.
    static let restartDrop = 0.01

    /// Where the pace is measured from; `next` takes its place at the first move a window after it.
    private var from: Sample
    private var next: Sample
    /// The last move, and the silence before it.
    private var lastMove: Sample
    private var lastGap = Duration.zero

    private init(from start: Sample) {
        (from, next, lastMove) = (start, start, start)
    }

    /// Follows a report that takes the phase's progress from `old` to `new`: the phase's first report
    /// starts the pace (at `phaseStart` if it already shows progress, made since the phase began), a step back
    /// of more than ``restartDrop`` starts it over, a move forward moves it. The clock is read only for a
    /// move across a 0.1% mark, a step back or a first report: reading it at every report would more than
    /// double the cost of a report.
    static func report(_ pace: inout ProgressPace?, from old: Double, to new: Double, phaseStart: Duration,
                       now clock: () -> Duration) {
        let startsOver = new < old - restartDrop
        guard pace == nil || startsOver || (new * 1000).rounded(.down) > (old * 1000).rounded(.down) else { return }
        let now = clock()
        if pace == nil {
            pace = ProgressPace(from: new > 0 ? (phaseStart, 0) : (now, 0))
        } else if startsOver {
            pace = ProgressPace(from: (now, new))
        }
        if new > old { pace?.moved(to: new, at: now) }
    }

    /// Progress moved forward to `fraction` at `now`.
    private mutating func moved(to fraction: Double, at now: Duration) {
        let gap = now - lastMove.time
        // Progress resumed: the silence past the last gap was a stall, which no longer counts.
        let stall = lastGap > .zero ? max(gap - lastGap, .zero) : .zero
        from.time += stall
        next.time += stall
        if now - next.time >= Self.window { (from, next) = (next, (now, fraction)) }
        (lastMove, lastGap) = ((now, fraction), gap)
    }

    /// Time left at this pace to go from `fraction` to the end, at `now`; `nil` until progress moved.
    func timeLeft(from fraction: Double, at now: Duration) -> Duration? {
        let spent = now - from.time - min(now - lastMove.time, lastGap)
        guard lastMove.fraction > from.fraction, spent > .zero else { return nil }
        let rate = (lastMove.fraction - from.fraction) / (Double(Int64(clamping: spent.attoseconds / 1_000_000_000)) / 1e9)
        let nanoseconds = ((1 - fraction) / rate * 1e9).rounded()
        // An estimate past ~292 years is no estimate.
        guard nanoseconds.isFinite, nanoseconds < 9.2e18 else { return nil }
        return .nanoseconds(Int64(nanoseconds))
    }
}
