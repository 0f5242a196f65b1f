// The conversation kept in browser storage, so that it survives a page reload.
//
// Stored: the socket.io session id, whether the greeting was asked for, whether the panel was
// open, and the last `limit` messages as plain data (never HTML). Nothing is kept when storage
// is "none" or the browser refuses it; state older than `maxAgeMinutes` is dropped.

function storageArea(kind) {
  try {
    const area =
      kind === "local" ? window.localStorage : kind === "session" ? window.sessionStorage : null;
    if (!area) return null;
    const probe = "faqbot-widget:probe";
    area.setItem(probe, "1");
    area.removeItem(probe);
    return area;
  } catch (_) {
    return null; // disabled, full, or a privacy mode
  }
}

function emptyState() {
  return { sessionId: null, greeted: false, open: false, history: [], savedAt: 0 };
}

function validRecord(record) {
  return (
    record &&
    (record.from === "user" || record.from === "bot") &&
    typeof record.text === "string" &&
    (record.buttons === undefined || Array.isArray(record.buttons))
  );
}

export function openStore(kind, key, limit, maxAgeMinutes) {
  const area = storageArea(kind);
  let state = emptyState();
  if (area) {
    try {
      const saved = JSON.parse(area.getItem(key) || "null");
      const fresh = saved && Date.now() - Number(saved.savedAt || 0) < maxAgeMinutes * 60000;
      if (fresh && Array.isArray(saved.history)) {
        state = {
          sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
          greeted: Boolean(saved.greeted),
          open: Boolean(saved.open),
          history: saved.history.filter(validRecord).slice(-limit),
          savedAt: saved.savedAt,
        };
      } else if (saved) {
        area.removeItem(key);
      }
    } catch (_) {
      state = emptyState();
    }
  }
  return {
    state,
    save() {
      state.history = state.history.slice(-limit);
      state.savedAt = Date.now();
      if (!area) return;
      try {
        area.setItem(key, JSON.stringify(state));
      } catch (_) {
        // storage full or refused: the conversation still works, it just won't survive a reload
      }
    },
    clear() {
      Object.assign(state, emptyState());
      if (!area) return;
      try {
        area.removeItem(key);
      } catch (_) {
        // nothing to do
      }
    },
  };
}
