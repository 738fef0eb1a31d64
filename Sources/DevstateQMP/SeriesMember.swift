// SPDX-License-Identifier: MIT
import DevstateModel

/// The members of `query-migrate` that our QEMU series adds.
public enum SeriesMember {
    public static let deviceStateTimes = "device-state-times"
    public static let iterableStateTimes = "iterable-state-times"
    public static let deviceLoadTimes = "device-load-times"
    public static let downtimeCheckpoints = "downtime-checkpoints"
    /// How many entries QEMU could not keep in this side's lists (series of library 0.3.0).
    public static let downtimeEntriesDropped = "downtime-entries-dropped"
    public static let added020 = [iterableStateTimes, deviceLoadTimes, downtimeCheckpoints]
    public static let added030 = [downtimeEntriesDropped]
    public static let all = [deviceStateTimes] + added020 + added030
    /// Handlers and named work (library 0.3.0 on). Not in `all`: a completed reply has it only
    /// when a step was kept, so its absence tells neither the series nor a missing part.
    public static let downtimeSteps = "downtime-steps"
}

extension Series {
    /// The series a set of `query-migrate` member names shows.
    public static func from(members: Set<String>) -> Series {
        if SeriesMember.added030.contains(where: members.contains) { return .v030 }
        if SeriesMember.added020.contains(where: members.contains) { return .v020 }
        return members.contains(SeriesMember.deviceStateTimes) ? .v010 : .none
    }
}
