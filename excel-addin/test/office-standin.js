// A stand-in for the Office and CustomFunctions globals that Excel provides,
// injected by the browser test before any script of the task pane runs.
// It records the functions the add-in associates, so the test can invoke them
// as Excel would, and it records the WebSocket traffic, so the test can check
// what went over the wire.
(() => {
  /** @type {Record<string, Function>} */
  const associated = {};

  class CustomFunctionsError extends Error {
    /**
     * @param {string} code
     * @param {string} [message]
     */
    constructor(code, message) {
      super(message ?? '');
      this.code = code;
      this.hasMessage = message !== undefined;
    }
  }

  window.CustomFunctions = {
    associate(id, fn) {
      associated[id] = fn;
    },
    Error: CustomFunctionsError,
    ErrorCode: {
      invalidValue: '#VALUE!',
      notAvailable: '#N/A',
      divisionByZero: '#DIV/0!',
      invalidNumber: '#NUM!',
      nullReference: '#NULL!',
      invalidName: '#NAME?',
      invalidReference: '#REF!',
    },
  };

  window.Office = {
    onReady(callback) {
      const info = { host: 'Excel', platform: 'PC' };
      if (callback) callback(info);
      return Promise.resolve(info);
    },
  };

  const wire = { framesSent: [], callFrames: 0, resultIds: [], messagesReceived: 0 };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class RecordingWebSocket extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => {
        const parsed = JSON.parse(ev.data);
        for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
          wire.messagesReceived++;
          if (m.type === 'result') wire.resultIds.push(m.id);
        }
      });
    }

    send(data) {
      const parsed = JSON.parse(data);
      const messages = Array.isArray(parsed) ? parsed : [parsed];
      wire.framesSent.push(messages.map((m) => ({ type: m.type, id: m.id, args: m.args })));
      if (messages.some((m) => m.type === 'call')) wire.callFrames++;
      super.send(data);
    }
  };

  window.__xlbatchTest = { associated, wire };
})();
