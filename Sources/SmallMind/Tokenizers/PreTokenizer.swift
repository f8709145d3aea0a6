// Pre-tokenization for byte-level BPE: the text is cut into words by regular expressions, and
// merges never cross a word boundary. Each `tokenizer.ggml.pre` names a list of expressions; like
// llama.cpp's `unicode_regex_split`, each expression in turn cuts every word the previous ones
// left into its matches and the text between them. The expressions are hand-written matchers over
// Unicode scalars (no regex engine, no ICU), following llama.cpp's own custom matchers
// (`unicode_regex_split_custom_gpt2`/`_llama3`) step for step; a matcher never looks past the
// word it is cutting.
//
// Classes, as llama.cpp's unicode tables define them: \p{L} = general category L*, \p{N} = N*,
// \p{P} = P*, \s = the Unicode White_Space property.

/// How byte-level BPE text is cut into words before merging (`tokenizer.ggml.pre`).
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama 3: like GPT-2 but case-insensitive contractions, a letter run may take one leading
    /// non-letter, digits in groups of up to three, newlines kept together.
    case llama3
    /// Qwen 2: Llama 3's expression with single digits.
    case qwen2
    /// SmolLM (and StarCoder, Refact, Command-R, CodeShell, EXAONE, Minerva): every digit alone
    /// (`\p{N}`), then GPT-2's expression.
    case smolLM
    /// llama.cpp's default for BPE vocabularies that name no other (`default`): punctuation runs
    /// `[\p{P}$+<=>^~|]+`, GPT-2's expression, number runs `\p{N}+`, then ASCII digit triples.
    case bpeDefault
    /// Falcon: punctuation runs ``[\p{P}$+<=>^~|`]+``, GPT-2's expression, ASCII digit triples.
    case falcon

    /// The pre-tokenizer a `tokenizer.ggml.pre` value names (see `BytePairPreset` for the names).
    public init?(ggufName name: String) {
        guard let preset = BytePairPreset(ggufName: name) else { return nil }
        self = preset.preTokenizer
    }

    /// One expression of the list, applied to every word the previous ones left.
    enum Stage {
        /// GPT-2's expression.
        case gpt2
        /// Llama 3's expression with digit groups of up to `maxDigits`.
        case llama3(maxDigits: Int)
        /// `\p{N}`: every number scalar alone.
        case eachNumber
        /// `\p{N}+`
        case numberRuns
        /// `[\p{P}$+<=>^~|]+`, with '`' too for Falcon.
        case punctuationRuns(backtick: Bool)
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriples
    }

    var stages: [Stage] {
        switch self {
        case .gpt2: return [.gpt2]
        case .llama3: return [.llama3(maxDigits: 3)]
        case .qwen2: return [.llama3(maxDigits: 1)]
        case .smolLM: return [.eachNumber, .gpt2]
        case .bpeDefault: return [.punctuationRuns(backtick: false), .gpt2, .numberRuns, .asciiDigitTriples]
        case .falcon: return [.punctuationRuns(backtick: true), .gpt2, .asciiDigitTriples]
        }
    }

    /// Byte ranges of `text` (valid UTF-8), one per word, in order, covering it.
    func split(_ text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        let scalars = ScalarText(text)
        var words = scalars.count > 0 ? [0 ..< scalars.count] : []
        for stage in stages {
            var cut: [Range<Int>] = []
            cut.reserveCapacity(words.count * 2)
            for word in words { stage.split(scalars, word, into: &cut) }
            words = cut
        }
        return words.map { scalars.byteOffsets[$0.lowerBound] ..< scalars.byteOffsets[$0.upperBound] }
    }
}

extension PreTokenizer.Stage {
    /// Cuts `word` (scalar positions of `t`) into pieces appended to `words`.
    func split(_ t: ScalarText, _ word: Range<Int>, into words: inout [Range<Int>]) {
        switch self {
        case .gpt2: Self.splitGPT2(t, word, into: &words)
        case let .llama3(maxDigits): Self.splitLlama3(t, word, maxDigits: maxDigits, into: &words)
        case .eachNumber: Self.splitRuns(t, word, of: ScalarText.number, single: true, into: &words)
        case .numberRuns: Self.splitRuns(t, word, of: ScalarText.number, single: false, into: &words)
        case let .punctuationRuns(backtick):
            Self.splitRuns(t, word, of: backtick ? ScalarText.falconPunctuation : ScalarText.punctuation, single: false, into: &words)
        case .asciiDigitTriples: Self.splitDigitTriples(t, word, into: &words)
        }
    }

    /// Matches of a one-class expression (`[class]` when `single`, else `[class]+`) and the text
    /// between them, as llama.cpp's `unicode_regex_split_stl` keeps both.
    static func splitRuns(_ t: ScalarText, _ word: Range<Int>, of mask: UInt8, single: Bool, into words: inout [Range<Int>]) {
        var start = word.lowerBound
        while start < word.upperBound {
            let inClass = t.flags(start) & mask != 0
            var end = start + 1
            if !(inClass && single) {
                while end < word.upperBound && (t.flags(end) & mask != 0) == inClass { end += 1 }
            }
            words.append(start ..< end)
            start = end
        }
    }

    /// `[0-9][0-9][0-9]`, leftmost first, and the text between the triples.
    static func splitDigitTriples(_ t: ScalarText, _ word: Range<Int>, into words: inout [Range<Int>]) {
        func isDigit(_ i: Int) -> Bool { (0x30 ... 0x39).contains(t[i]) }
        var gapStart = word.lowerBound
        var i = word.lowerBound
        while i + 3 <= word.upperBound {
            guard isDigit(i) && isDigit(i + 1) && isDigit(i + 2) else {
                i += 1
                continue
            }
            if gapStart < i { words.append(gapStart ..< i) }
            words.append(i ..< i + 3)
            i += 3
            gapStart = i
        }
        if gapStart < word.upperBound { words.append(gapStart ..< word.upperBound) }
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    static func splitGPT2(_ t: ScalarText, _ word: Range<Int>, into words: inout [Range<Int>]) {
        let end = word.upperBound
        func flags(_ i: Int) -> UInt8 { i < end ? t.flags(i) : 0 }
        var pos = word.lowerBound
        while pos < end {
            // 's|'t|'re|'ve|'m|'ll|'d
            if let length = t.contractionLength(at: pos, end: end, caseInsensitive: false) {
                words.append(pos ..< pos + length)
                pos += length
                continue
            }
            // ` ?` then a run of one class: \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
            let space = t[pos] == 0x20 ? 1 : 0
            let first = flags(pos + space)
            if let runClass = [ScalarText.letter, ScalarText.number, ScalarText.other].first(where: { first & $0 != 0 }) {
                var runEnd = pos + space
                while flags(runEnd) & runClass != 0 { runEnd += 1 }
                words.append(pos ..< runEnd)
                pos = runEnd
                continue
            }
            // \s+(?!\S)|\s+
            let runEnd = t.whitespaceWordEnd(from: pos, end: end, splittingNewlines: false) ?? pos + 1
            words.append(pos ..< runEnd)
            pos = runEnd
        }
    }

    /// Llama 3 (`maxDigits` 3) and Qwen 2 (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    static func splitLlama3(_ t: ScalarText, _ word: Range<Int>, maxDigits: Int, into words: inout [Range<Int>]) {
        let end = word.upperBound
        func flags(_ i: Int) -> UInt8 { i < end ? t.flags(i) : 0 }
        var pos = word.lowerBound
        func emit(_ wordEnd: Int) {
            words.append(pos ..< wordEnd)
            pos = wordEnd
        }
        while pos < end {
            let c = t[pos], classes = flags(pos)
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if let length = t.contractionLength(at: pos, end: end, caseInsensitive: true) {
                emit(pos + length)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !ScalarText.isNewline(c) && classes & ScalarText.number == 0
                && (classes & ScalarText.letter != 0 || flags(pos + 1) & ScalarText.letter != 0) {
                var runEnd = pos + 1
                while flags(runEnd) & ScalarText.letter != 0 { runEnd += 1 }
                emit(runEnd)
                continue
            }
            // \p{N}{1,3}
            if classes & ScalarText.number != 0 {
                var runEnd = pos + 1
                while runEnd - pos < maxDigits && flags(runEnd) & ScalarText.number != 0 { runEnd += 1 }
                emit(runEnd)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let space = c == 0x20 ? 1 : 0
            if flags(pos + space) & ScalarText.other != 0 {
                var runEnd = pos + space
                while flags(runEnd) & ScalarText.other != 0 { runEnd += 1 }
                while runEnd < end && ScalarText.isNewline(t[runEnd]) { runEnd += 1 }
                emit(runEnd)
                continue
            }
            // \s*[\r\n]+|\s+(?!\S)|\s+
            emit(t.whitespaceWordEnd(from: pos, end: end, splittingNewlines: true) ?? pos + 1)
        }
    }
}

/// What a `tokenizer.ggml.pre` name means to a byte-level BPE vocabulary, as llama.cpp's
/// `llama_vocab::load` maps it: the expressions, and the few flags that change tokenization.
/// Names whose llama.cpp behaviour needs more than these (DeepSeek's and Chameleon's expressions,
/// ChatGLM's missing BOS, Tekken, …) are left out, so loading them is a clear error.
struct BytePairPreset: Equatable {
    let preTokenizer: PreTokenizer
    /// A word that is itself a token is emitted whole, before merging (`ignore_merges`).
    var ignoresMerges = false
    /// `add_special` prepends BOS unless the file says otherwise.
    var addsBOSByDefault = false

    /// Names by what they mean, in llama.cpp's groupings.
    static let names: [(names: [String], preset: BytePairPreset)] = [
        (["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
          "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4", "trillion", "granite-docling"],
         BytePairPreset(preTokenizer: .gpt2)),
        (["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"],
         BytePairPreset(preTokenizer: .llama3, ignoresMerges: true, addsBOSByDefault: true)),
        // Llama 3's expression without Llama 3's flags.
        (["dbrx", "smaug-bpe"], BytePairPreset(preTokenizer: .llama3)),
        (["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open"],
         BytePairPreset(preTokenizer: .qwen2)),
        (["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2"],
         BytePairPreset(preTokenizer: .smolLM)),
        (["default"], BytePairPreset(preTokenizer: .bpeDefault)),
        (["falcon"], BytePairPreset(preTokenizer: .falcon)),
    ]

    /// Every name understood, for error messages.
    static var supportedNames: [String] { names.flatMap(\.names) }

    init(preTokenizer: PreTokenizer, ignoresMerges: Bool = false, addsBOSByDefault: Bool = false) {
        self.preTokenizer = preTokenizer
        self.ignoresMerges = ignoresMerges
        self.addsBOSByDefault = addsBOSByDefault
    }

    /// The preset `name` stands for; nil for names not supported here.
    init?(ggufName name: String) {
        guard let found = Self.names.first(where: { $0.names.contains(name) }) else { return nil }
        self = found.preset
    }
}
