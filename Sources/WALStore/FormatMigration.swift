// SPDX-License-Identifier: AGPL-3.0-or-later

/// Upgrades a data directory one format at a time. Each step writes its files atomically and the
/// FORMAT file last, so a crash mid-step is finished by the next boot:
///
/// - 1 → 2: the checkpoint gains a CRC-32C;
/// - 2 → 3: pages gain a page LSN and a CRC-32C (new page layout), in a new page-file generation.
///
/// Without `writes` (read-only boots) the steps happen in memory only.
struct FormatMigration {
    let directory: DataDirectory
    let writes: Bool
    private(set) var format: Int
    private(set) var checkpoint: Checkpoint
    /// The current-format page file, once there is one.
    private(set) var pageFile: PageFile?
    /// Pages converted in memory by a step that could not write.
    private(set) var convertedPages: [UInt64: Page] = [:]

    init(directory: DataDirectory, format: Int, writes: Bool) throws(StoreError) {
        self.directory = directory
        self.writes = writes
        let (checkpoint, version) = try Checkpoint.decode(try FileIO.read(directory.checkpointFile), path: directory.checkpointFile)
        self.checkpoint = checkpoint
        // A crash between a step's checkpoint and its FORMAT file: the checkpoint tells the truth.
        self.format = max(format, version)
        if self.format > format && writes { try directory.writeFormat(self.format) }
        if self.format == DataDirectory.currentFormat {
            pageFile = try PageFile(path: directory.pageFile(generation: checkpoint.generation), pageIDs: checkpoint.pageIDs)
        }
    }

    mutating func step() throws(StoreError) {
        switch format {
        case 1: try addCheckpointChecksum()
        case 2: try convertPageLayout()
        default: preconditionFailure("no migration from format \(format)")
        }
    }

    /// 1 → 2: rewrite the checkpoint with its checksum.
    private mutating func addCheckpointChecksum() throws(StoreError) {
        if writes {
            try FileIO.writeAtomically(directory.checkpointFile, checkpoint.encode(version: 2))
            try directory.writeFormat(2)
        }
        format = 2
    }

    /// 2 → 3: rewrite every page in the new layout into the next page-file generation.
    private mutating func convertPageLayout() throws(StoreError) {
        let oldPath = directory.pageFile(generation: checkpoint.generation)
        let legacy = try FileIO.read(oldPath)
        guard legacy.count == checkpoint.pageIDs.count * Page.size else {
            throw .corrupt(path: oldPath, reason: "holds \(legacy.count) bytes, the checkpoint names \(checkpoint.pageIDs.count) pages")
        }
        var pages: [UInt64: Page] = [:]
        for (position, id) in checkpoint.pageIDs.enumerated() {
            let page = try Page.fromLegacy(Array(legacy[(position * Page.size)..<((position + 1) * Page.size)]),
                                           lsn: checkpoint.lsn, path: oldPath)
            guard page.id == id else { throw .corrupt(path: oldPath, reason: "page \(position) is page \(page.id), not \(id)") }
            pages[id] = page
        }
        guard writes else {
            convertedPages = pages
            format = 3
            return
        }
        var next = checkpoint
        next.generation += 1
        let newPath = directory.pageFile(generation: next.generation)
        try PageFile.write(path: newPath, pageIDs: next.pageIDs) { id in pages[id]!.encoded }
        try FileIO.writeAtomically(directory.checkpointFile, next.encode(version: 3))
        try directory.writeFormat(3)
        try FileIO.remove(oldPath)
        checkpoint = next
        pageFile = try PageFile(path: newPath, pageIDs: next.pageIDs)
        format = 3
    }
}
