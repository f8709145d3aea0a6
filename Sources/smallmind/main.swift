// The `smallmind` executable: everything it does lives in SmallMindCLI (`SmallMindCommand`).
import SmallMindCLI

await CommandMain.run(SmallMindCommand.self)
