package ctlab.kernel;

import org.dflib.jjava.jupyter.kernel.history.HistoryEntry;
import org.dflib.jjava.jupyter.kernel.history.HistoryManager;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * In-memory history of this kernel session, so history requests get a reply (with no manager the base
 * library sends none and clients wait). Session number 1 is this session; earlier sessions are not kept.
 */
final class SessionHistory implements HistoryManager {
    private record Cell(int number, String input, String output) {}

    private final List<Cell> cells = new ArrayList<>();

    synchronized void add(int number, String input, String output) {
        cells.add(new Cell(number, input, output == null ? "" : output));
    }

    @Override
    public synchronized List<HistoryEntry> lookupRange(int session, int start, int stop, Set<ResultFlag> flags) {
        if (session != 0 && session != 1) return List.of();
        List<HistoryEntry> out = new ArrayList<>();
        for (Cell c : cells) {
            if (c.number >= start && (stop <= 0 || c.number < stop)) out.add(entry(c, flags));
        }
        return out;
    }

    @Override
    public synchronized List<HistoryEntry> lookupTail(int length, Set<ResultFlag> flags) {
        int from = Math.max(0, cells.size() - Math.max(0, length));
        List<HistoryEntry> out = new ArrayList<>();
        for (Cell c : cells.subList(from, cells.size())) out.add(entry(c, flags));
        return out;
    }

    @Override
    public synchronized List<HistoryEntry> search(String glob, int length, Set<ResultFlag> flags) {
        Pattern p = globToRegex(glob == null ? "*" : glob);
        Map<String, Cell> matches = new LinkedHashMap<>();
        int i = 0;
        for (Cell c : cells) {
            if (!p.matcher(c.input).matches()) continue;
            String key = flags.contains(ResultFlag.UNIQUE) ? c.input : String.valueOf(i++);
            matches.remove(key);            // keep the latest occurrence last
            matches.put(key, c);
        }
        List<Cell> found = new ArrayList<>(matches.values());
        int from = length > 0 ? Math.max(0, found.size() - length) : 0;
        List<HistoryEntry> out = new ArrayList<>();
        for (Cell c : found.subList(from, found.size())) out.add(entry(c, flags));
        return out;
    }

    private static HistoryEntry entry(Cell c, Set<ResultFlag> flags) {
        return flags.contains(ResultFlag.INCLUDE_OUTPUT)
                ? new HistoryEntry(1, c.number, c.input, c.output)
                : new HistoryEntry(1, c.number, c.input, null);
    }

    /** sqlite GLOB as Jupyter specifies it: * ? and [...] / [^...]. */
    static Pattern globToRegex(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char ch = glob.charAt(i);
            switch (ch) {
                case '*' -> re.append("[\\s\\S]*");
                case '?' -> re.append("[\\s\\S]");
                case '[' -> {
                    int end = glob.indexOf(']', i + 2);
                    if (end < 0) { re.append("\\["); break; }
                    String body = glob.substring(i + 1, end);
                    re.append('[').append(body.replace("\\", "\\\\").replace("[", "\\[")).append(']');
                    i = end;
                }
                default -> re.append(Pattern.quote(String.valueOf(ch)));
            }
        }
        return Pattern.compile(re.toString());
    }
}
