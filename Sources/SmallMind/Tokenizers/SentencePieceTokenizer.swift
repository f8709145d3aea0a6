// SentencePiece BPE as llama2.c's run.c applies it (Llama 1/2 vocabularies, tinyllamas' tok512).
//
// llama2.c tokenizer.bin layout (little-endian):
//   int32 max_token_length
//   then per token, vocab_size times: float32 score, int32 length, `length` bytes of the piece
// The file does not store vocab_size; it comes from the model header.
import Foundation

/// SentencePiece BPE: merges by score, a dummy-prefix space, `<0xXX>` byte fallback.
public struct SentencePieceTokenizer: Tokenizer {
    public let pieces: [[UInt8]]
    public let scores: [Float]
    public let bosToken: Int?
    public let eosToken: Int?
    /// Piece text → id; the first of duplicate pieces wins, as it always has here.
    private let lookup: ByteStringTable
    /// For byte-fallback tokens (pieces spelled `<0xXX>`), the byte they stand for.
    private let byteValues: [UInt8?]
    private let byteTokens: [Int?]

    public init(pieces: [[UInt8]], scores: [Float], bosToken: Int? = 1, eosToken: Int? = 2) {
        self.pieces = pieces
        self.scores = scores
        self.bosToken = bosToken
        self.eosToken = eosToken
        var lookup = ByteStringTable(reservingCapacity: pieces.count)
        var byteTokens = [Int?](repeating: nil, count: 256)
        var byteValues = [UInt8?](repeating: nil, count: pieces.count)
        for (id, piece) in pieces.enumerated() {
            lookup.append(piece, duplicates: .keepFirst)
            if let byte = Self.byteFallbackValue(piece) {
                byteValues[id] = byte
                if byteTokens[Int(byte)] == nil { byteTokens[Int(byte)] = id }
            }
        }
        self.lookup = lookup
        self.byteValues = byteValues
        self.byteTokens = byteTokens
    }

    public var vocabularySize: Int { pieces.count }

    /// Reads a llama2.c `tokenizer.bin` holding (at least) `vocabularySize` tokens.
    public static func load(llama2cPath path: String, vocabularySize: Int) throws(LoadingError) -> SentencePieceTokenizer {
        let file = try MappedFile(path: path)
        var reader = ByteReader(file.bytes, file: path)
        let maxLength = Int(try reader.int32("max_token_length"))
        guard maxLength > 0 && maxLength <= 1 << 16 else {
            throw .invalidField(file: path, field: "max_token_length", value: String(maxLength), reason: "must be in 1...65536")
        }
        var pieces: [[UInt8]] = []
        var scores: [Float] = []
        pieces.reserveCapacity(vocabularySize)
        scores.reserveCapacity(vocabularySize)
        for id in 0..<vocabularySize {
            scores.append(try reader.float32("score of token \(id)"))
            let length = Int(try reader.int32("length of token \(id)"))
            guard length >= 0 && length <= maxLength else {
                throw .invalidField(file: path, field: "length of token \(id)", value: String(length), reason: "must be in 0...\(maxLength) (max_token_length)")
            }
            pieces.append(Array(try reader.bytes(length, "piece of token \(id)")))
        }
        return SentencePieceTokenizer(pieces: pieces, scores: scores)
    }

    /// Encodes as run.c's `encode`: optional BOS, a dummy-prefix space when the text is not empty,
    /// one token per UTF-8 character (or its bytes as `<0xXX>` tokens when it has no piece), then
    /// repeatedly merge the adjacent pair whose concatenation has the highest score (leftmost on ties).
    public func encode(_ text: String, addBOS: Bool = true) throws(TokenizerError) -> [Int] {
        var tokens: [Int] = []
        if addBOS, let bosToken { tokens.append(bosToken) }
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, let space = lookup.find([0x20]) { tokens.append(space) }

        var start = 0
        while start < bytes.count {
            var end = start + 1
            while end < bytes.count && bytes[end] & 0xC0 == 0x80 && end - start < 4 { end += 1 }
            let character = Array(bytes[start..<end])
            if let id = lookup.find(character) {
                tokens.append(id)
            } else {
                for byte in character {
                    guard let id = byteTokens[Int(byte)] else {
                        let shown = String(decoding: character, as: UTF8.self).first ?? "\u{FFFD}"
                        throw .unknownCharacter(shown, offset: start, hint: "the vocabulary has neither this character nor byte-fallback tokens")
                    }
                    tokens.append(id)
                }
            }
            start = end
        }
        return merged(tokens)
    }

    /// run.c's merge loop over the tokens' pieces (BOS included, as run.c does), through the
    /// shared queue-based implementation: the same merges, without run.c's rescan per merge.
    private func merged(_ tokens: [Int]) -> [Int] {
        guard tokens.count > 1 else { return tokens }
        var text: [UInt8] = []
        var ranges: [Range<Int>] = []
        for token in tokens {
            ranges.append(text.count ..< text.count + pieces[token].count)
            text += pieces[token]
        }
        return text.withUnsafeBufferPointer { text in
            // The initial tokens stand as chosen (a byte token's piece `<0xE2>` is not its byte).
            var symbols = SymbolMerging.symbols(ranges, tokens: tokens.map { Int32($0) })
            return SymbolMerging.mergeByScore(&symbols, in: text, pieces: lookup, scores: scores, scoreFloor: -Float.greatestFiniteMagnitude)
                .map { Int($0.token) }
        }
    }

    /// run.c's `decode`: the leading space of the first piece after BOS is dropped, and `<0xXX>`
    /// pieces stand for their byte.
    public func bytes(of token: Int, after previous: Int?) -> [UInt8] {
        guard pieces.indices.contains(token) else { return [] }
        if let byte = byteValues[token] { return [byte] }
        let piece = pieces[token]
        if previous == bosToken && previous != nil && piece.first == 0x20 { return Array(piece.dropFirst()) }
        return piece
    }

    /// The byte a `<0xXX>` piece stands for.
    static func byteFallbackValue(_ piece: [UInt8]) -> UInt8? {
        guard piece.count == 6, piece[0] == UInt8(ascii: "<"), piece[1] == UInt8(ascii: "0"),
              piece[2] == UInt8(ascii: "x"), piece[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: piece[3..<5], as: UTF8.self), radix: 16)
    }
}
