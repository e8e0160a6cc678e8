// The live room of one page: its state (store.js), drawn by rendering.js's methods and kept
// current over the socket (transport.js). Each page's entry module calls open() and renders
// from room.state.
import {rendering} from "./render.js";
import {Store} from "./store.js";
import {transport} from "./transport.js";

export class Room extends Store {
  constructor(root, options) {
    super(root, options);
    this.pending = {};       // cid -> action not yet acknowledged
    this.joined = false;
    this.stopped = false;
    this.hooks = this.findHooks();
  }
}
Object.assign(Room.prototype, rendering, transport);

export function open(options) {
  var root = document.getElementById("panel-room");
  if (!root || !window.io) return null;
  return new Room(root, options).connect();
}
